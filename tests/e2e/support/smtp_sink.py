"""A mail sink for the end-to-end tests: an aiosmtpd handler that writes every
message it accepts to a file of its own in a directory, so that a test can
read the mails the server sent (e.g. the codes in them).

    PYTHONPATH=tests/e2e/support /usr/bin/python3 -m aiosmtpd -n \\
        -l 127.0.0.1:PORT -c smtp_sink.Sink DIR

Each message becomes DIR/NNNNNN.eml: a first line "X-Rcpt-To: a@b,c@d" (the
envelope recipients), then the message as received. The file is written
under a temporary name and renamed, so a reader never sees half of it.
"""
import os


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("smtp_sink.Sink takes one argument: the directory")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%06d.eml" % self.count
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        with open(tmp, "wb") as f:
            f.write(("X-Rcpt-To: %s\r\n" % ",".join(envelope.rcpt_tos)).encode("utf-8"))
            f.write(content)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 OK"
