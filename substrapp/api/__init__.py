"""The REST API that the substra 1.0 SDK speaks (docs/sdk-contract.md), and users management.

errors.py       one error shape for the whole API: {"detail", "code", ...}
pagination.py   page/page_size, absolute `next` with each query parameter once
permissions.py  IsChannelMember (the default), IsChannelAdmin
scoping.py      ChannelScopedViewMixin: a view sees its caller's channel only
fields.py       serializer fields shared by every asset family
serializers/, views/  one module per family; urls.py routes them
"""
