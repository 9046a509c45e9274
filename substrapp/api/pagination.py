from urllib.parse import urlencode

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`page` and `page_size`; `{"count", "next", "previous", "results"}` with absolute links.

    The SDK appends its query parameters again to every `next` it follows (docs/sdk-contract.md
    §5.1), so links carry each parameter once (its last value): the URL stays the same length
    however many pages there are."""

    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_next_link(self):
        return self._link(self.page.next_page_number()) if self.page.has_next() else None

    def get_previous_link(self):
        return self._link(self.page.previous_page_number()) if self.page.has_previous() else None

    def _link(self, page_number: int) -> str:
        query = {name: values[-1] for name, values in self.request.query_params.lists()}
        query.pop(self.page_query_param, None)
        if page_number != 1:
            query[self.page_query_param] = page_number
        url = self.request.build_absolute_uri(self.request.path)
        return f"{url}?{urlencode(query)}" if query else url
