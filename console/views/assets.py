"""Datasets and functions: lists, pages with their Markdown description rendered safely, their
permissions, and the opener or archive for users of an organization allowed to process them
(the API's rule and code: substrapp.assetfiles)."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from console.access import member_required
from console.markdown import MAX_DESCRIPTION_CHARS, render_description
from substrapp.assetfiles import FileAccessDenied, FileElsewhere, OwnerNotFound, can_process, open_asset_file
from substrapp.models import DataManager, Function

PAGE_SIZE = 50
FILE_ERRORS = (FileAccessDenied, FileElsewhere, OwnerNotFound, FileNotFoundError)

# kind → (model, the file a processing organization may download, its file name)
KINDS = {
    "dataset": (DataManager, "opener_file", "opener.py"),
    "function": (Function, "archive_file", "function.tar.gz"),
}


def _asset(request, kind: str, key: str):
    model = KINDS[kind][0]
    return get_object_or_404(model.objects.for_user(request.user), key=key)


def _list(request, kind: str):
    model = KINDS[kind][0]
    assets = model.objects.for_user(request.user).order_by("-creation_date", "key")
    match = request.GET.get("match", "")[:100]
    if match:
        assets = assets.filter(name__icontains=match)
    page = Paginator(assets, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, f"console/{kind}s.html", {"page": page, "match": match})


def _detail(request, kind: str, key: str):
    asset = _asset(request, kind, key)
    context = {
        "asset": asset,
        "kind": kind,
        "description": _description(asset),
        "may_download": can_process(asset),
    }
    if kind == "dataset":
        context["sample_count"] = asset.data_samples.count()
    return render(request, f"console/{kind}.html", context)


def _description(asset) -> dict:
    """{"html"} of the description, or {"error"} when its owner cannot give it now."""
    try:
        with open_asset_file(asset, "description_file", needs_process=False) as stream:
            text = stream.read(MAX_DESCRIPTION_CHARS * 4).decode("utf-8", errors="replace")
    except (*FILE_ERRORS, OSError) as error:
        return {"error": f"The description could not be read: {error}"}
    return {"html": render_description(text)}


def _download(request, kind: str, key: str):
    asset = _asset(request, kind, key)
    _, field, filename = KINDS[kind]
    try:
        stream = open_asset_file(asset, field, needs_process=True)
    except FileAccessDenied as error:
        raise PermissionDenied(str(error)) from None
    except (FileElsewhere, OwnerNotFound, FileNotFoundError) as error:
        raise Http404(f"The file is not available: {error}") from None
    return FileResponse(stream, as_attachment=True, filename=filename)


@require_GET
@member_required
def dataset_list(request):
    return _list(request, "dataset")


@require_GET
@member_required
def dataset_detail(request, key):
    return _detail(request, "dataset", key)


@require_GET
@member_required
def dataset_opener(request, key):
    return _download(request, "dataset", key)


@require_GET
@member_required
def function_list(request):
    return _list(request, "function")


@require_GET
@member_required
def function_detail(request, key):
    return _detail(request, "function", key)


@require_GET
@member_required
def function_archive(request, key):
    return _download(request, "function", key)
