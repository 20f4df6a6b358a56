#!/usr/bin/python3
"""A real SMTP server for tests (aiosmtpd), saving what it receives to files.

Run with the Debian interpreter, which has python3-aiosmtpd:

  /usr/bin/python3 tests/tools/smtp_sink.py --maildir DIR [options]

  --host ADDR            listen address (default 127.0.0.1)
  --port N               listen port; 0 (default) picks a free one
  --maildir DIR          where messages go (created if missing): each accepted
                         message becomes DIR/<n>.eml (the bytes as received,
                         CRLF, dot-unstuffed) plus DIR/<n>.json with
                         {"mail_from", "rcpt_tos", "auth_user", "tls"};
                         n counts from 1. The .eml appears atomically, after
                         the .json, and before the sink answers 250.
  --tls-cert PEM --tls-key PEM
                         offer STARTTLS with this certificate
  --require-tls          answer 530 to MAIL/RCPT/DATA before STARTTLS
  --implicit-tls         TLS from the first byte (SMTPS, like port 465)
                         instead of STARTTLS; needs --tls-cert/--tls-key
  --auth-user U --auth-password P
                         offer AUTH PLAIN/LOGIN and require it before MAIL
  --auth-allow-plaintext offer AUTH before TLS too (default: only after TLS)
  --fail-next N          answer the next N messages (or recipients, with
                         --fail-stage rcpt) with --fail-code
  --fail-code CODE       the SMTP reply code for --fail-next (e.g. 451, 550)
  --fail-stage STAGE     "data" (default: reply at end of DATA) or "rcpt"
                         (reply to RCPT TO, like an unknown mailbox)
  --delay-data SECONDS   after saving a message, wait this long before the
                         250 (the .eml is already there: a test can act while
                         the client waits for the answer)
  --verbose              log every SMTP exchange to stderr
  --control-file PATH    checked before every RCPT and DATA: if the file
                         exists, its first line "N CODE [STAGE]" replaces the
                         pending failures and the file is deleted. Lets a test
                         change the sink's behaviour while it runs.

Once listening it prints "PORT <n>" and then "READY" on stdout (one line
each, flushed). Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DEFAULT_TEXT = {
    4: "4.3.0 Temporary failure, please try again later",
    5: "5.1.1 Mailbox unavailable",
}


class Sink:
    def __init__(self, args):
        self.maildir = args.maildir
        self.count = 0
        self.pending = args.fail_next
        self.code = args.fail_code
        self.stage = args.fail_stage
        self.control = args.control_file
        self.delay_data = args.delay_data

    def _read_control(self):
        if not self.control or not os.path.exists(self.control):
            return
        with open(self.control) as f:
            fields = f.readline().split()
        os.unlink(self.control)
        if len(fields) >= 2:
            self.pending, self.code = int(fields[0]), int(fields[1])
            self.stage = fields[2] if len(fields) > 2 else "data"

    def _failure(self, stage):
        self._read_control()
        if self.pending > 0 and self.stage == stage:
            self.pending -= 1
            text = DEFAULT_TEXT.get(self.code // 100, "Simulated failure")
            return f"{self.code} {text}"
        return None

    async def handle_RCPT(self, server, session, envelope, address, options):
        failure = self._failure("rcpt")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self._failure("data")
        if failure:
            return failure
        self.count += 1
        base = os.path.join(self.maildir, str(self.count))
        auth_user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            auth_user = session.auth_data.login.decode()
        # session.ssl is only set by STARTTLS; implicit TLS shows on the socket.
        tls = (session.ssl is not None
               or server.transport.get_extra_info("ssl_object") is not None)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": auth_user,
            "tls": tls,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.replace(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.replace(base + ".eml.tmp", base + ".eml")
        if self.delay_data > 0:
            await asyncio.sleep(self.delay_data)
        return "250 2.0.0 Message accepted"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--maildir", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--require-tls", action="store_true")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password")
    p.add_argument("--auth-allow-plaintext", action="store_true")
    p.add_argument("--fail-next", type=int, default=0)
    p.add_argument("--fail-code", type=int, default=451)
    p.add_argument("--fail-stage", choices=["data", "rcpt"], default="data")
    p.add_argument("--control-file")
    p.add_argument("--delay-data", type=float, default=0)
    p.add_argument("--verbose", action="store_true",
                   help="log every SMTP exchange to stderr")
    args = p.parse_args()
    # Quiet by default: failed TLS handshakes are part of the tests, and
    # their tracebacks would only bury real failures in the test output.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.CRITICAL)
    warnings.simplefilter("ignore", DeprecationWarning)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if (args.require_tls or args.implicit_tls) and not args.tls_cert:
        p.error("--require-tls/--implicit-tls need --tls-cert and --tls-key")
    os.makedirs(args.maildir, exist_ok=True)

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == args.auth_user
              and auth_data.password.decode() == args.auth_password)
        # auth_data ends up in session.auth_data, where handle_DATA reads it.
        # handled=False makes aiosmtpd send the 535 itself; its default
        # (True) would leave the client waiting for an answer forever.
        return AuthResult(success=ok, handled=False,
                          auth_data=auth_data if ok else None)

    sink = Sink(args)

    def factory():
        kwargs = dict(hostname="smtp-sink.test", ident="smtp_sink")
        if context and not args.implicit_tls:
            kwargs.update(tls_context=context, require_starttls=args.require_tls)
        if args.auth_user is not None:
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=not args.auth_allow_plaintext)
        return SMTP(sink, **kwargs)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        factory, host=args.host, port=args.port,
        ssl=context if args.implicit_tls else None))
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    print("READY", flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
