"""The embedded mode's broker: kombu's filesystem transport, with messages written atomically.

kombu's own `_put` creates the message file under its final name, then writes into it; a worker
polling the folder may take the file in between, read an empty message and die on it
(kombu issue #1551). Here a message is written under a name no queue reads (a leading dot, and
`.part` at the end), then renamed to its final name in one step."""

import os
import uuid

from kombu.transport import filesystem
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(filesystem.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        draft = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(draft, "wb") as file:
                file.write(dumps(payload).encode())
            os.replace(draft, final)
        except OSError as error:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from error


class Transport(filesystem.Transport):
    Channel = Channel
