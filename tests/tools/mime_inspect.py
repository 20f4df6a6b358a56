#!/usr/bin/python3
"""Parses one RFC 5322 message with Python's stdlib `email` package and prints
what it understood as JSON, so C++ tests can check our MIME output against an
independent parser.

Usage: /usr/bin/python3 mime_inspect.py MESSAGE.eml

Output keys: subject, from_name, from_addr, to_name, to_addr, message_id, date,
content_type, parts [{content_type, charset, cte, text, max_raw_line}],
max_line (longest line in octets, CRLF excluded), bare_newlines (LF without CR
or CR without LF), defects (every defect the parser recorded, as strings).
"""
import email
import email.policy
import json
import re
import sys


def main():
    raw = open(sys.argv[1], "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [repr(d) for d in msg.defects]
    out = {
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "date": str(msg["Date"]),
        "content_type": msg.get_content_type(),
    }
    for key in ("From", "To"):
        header = msg[key]
        defects += [repr(d) for d in header.defects]
        addr = header.addresses[0]
        out[key.lower() + "_name"] = addr.display_name
        out[key.lower() + "_addr"] = addr.addr_spec
    defects += [repr(d) for d in msg["Subject"].defects]
    parts = []
    for part in msg.walk():
        defects += [repr(d) for d in part.defects]
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=False)
        lines = re.split(r"\r\n|\n", payload)
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part["Content-Transfer-Encoding"],
            "text": part.get_content(),
            "max_raw_line": max(len(line.encode()) for line in lines),
        })
    out["parts"] = parts
    lines = raw.split(b"\r\n")
    out["max_line"] = max(len(line) for line in lines)
    out["bare_newlines"] = any(b"\n" in line or b"\r" in line for line in lines)
    out["defects"] = defects
    json.dump(out, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
