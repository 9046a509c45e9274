class ChannelScopedViewMixin:
    """For views over a model managed by ChannelScopedQuerySet: lists and lookups see the rows of
    the caller's channel only, so a key of another channel is a 404, as if it did not exist."""

    def get_queryset(self):
        return super().get_queryset().for_user(self.request.user)
