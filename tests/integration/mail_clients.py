"""Replies as real mail clients write them, for the meeting tests: Gmail
(web and Android), Outlook desktop (windows-1252, a header block and a
disclaimer), OWA (HTML only), Outlook for iOS, Apple Mail on the iPhone and
Thunderbird (format=flowed, top- or bottom-posted).  Written for this
project after the client mail in tests/fixtures/mail/ (see MANIFEST.tsv);
each builder returns the raw message as bytes:

    raw = gmail("lead@school.test", "datum: 21-05-2027", invitation)
"""
import base64
import email.utils
import html as H
import quopri
import textwrap
from email.header import Header

from meetings_kit import COORD, TRUSTED, text

def qp(s, cs="utf-8"):
    return quopri.encodestring(s.replace("\n", "\r\n").encode(cs, "xmlcharrefreplace")).decode().replace("\r\r\n","\r\n")

def b64(b):
    s = base64.b64encode(b).decode()
    return "\r\n".join(s[i:i+76] for i in range(0, len(s), 76))

def hdrs(frm, subject, orig=None, trusted=True, extra=None, name=None):
    h = {"From": f"{name or frm.split('@')[0].capitalize()} <{frm}>", "To": f"LIDO leernetwerken <{COORD}>",
         "Subject": subject, "Date": email.utils.formatdate(localtime=True),
         "Message-ID": email.utils.make_msgid(domain="school.test"), "MIME-Version": "1.0"}
    if orig is not None:
        h["In-Reply-To"] = orig["Message-ID"]
        h["References"] = (orig.get("References", "") + " " + orig["Message-ID"]).strip()
    if trusted:
        h.update(TRUSTED)
    h.update(extra or {})
    def enc(k, v):
        if not v.isascii():
            return Header(v, "utf-8").encode()
        return v
    return "".join(f"{k}: {enc(k, v)}\r\n" for k, v in h.items() if v is not None)

def orig_text(orig):
    return text(orig) if orig is not None else ""

def orig_html(orig):
    if orig is None: return ""
    try:
        return orig.get_body(preferencelist=("html",)).get_content()
    except Exception:
        return "<pre>" + H.escape(orig_text(orig)) + "</pre>"

def alt(h, plain, htmlpart, pcs="utf-8", penc="qp"):
    b = "000000000000a1b2c3d4e5f60718"
    if penc == "qp":
        pbody, pe = qp(plain, pcs), "quoted-printable"
    else:
        pbody, pe = b64(plain.replace("\n","\r\n").encode(pcs)), "base64"
    return (h + f'Content-Type: multipart/alternative; boundary="{b}"\r\n\r\n'
            f'--{b}\r\nContent-Type: text/plain; charset="{pcs}"\r\nContent-Transfer-Encoding: {pe}\r\n\r\n{pbody}\r\n'
            f'--{b}\r\nContent-Type: text/html; charset="{pcs}"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{qp(htmlpart, pcs)}\r\n--{b}--\r\n').encode("ascii")

def subj(orig, prefix="Re: "):
    return prefix + orig["Subject"] if orig is not None else prefix

# --- Gmail web / Android: top-posting, "Op ... schreef X <\naddr>:" wrapped, quote "> ".
def gmail(frm, new, orig, subject=None, trusted=True, extra=None):
    new_lines = new.split("\n")
    attrib = f"Op ma 1 feb 2027 om 10:00 schreef LIDO leernetwerken <{COORD}>:"
    plain = "\n".join(new_lines) + "\n\n" + attrib + "\n\n" + "\n".join("> " + l if l else ">" for l in orig_text(orig).splitlines()) + "\n"
    divs = "".join(f"<div>{H.escape(l) if l else '<br>'}</div>" for l in new_lines[1:])
    htm = (f'<div dir="ltr">{H.escape(new_lines[0])}{divs}</div><br><div class="gmail_quote gmail_quote_container">'
           f'<div dir="ltr" class="gmail_attr">{H.escape(attrib)}<br></div>'
           f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">{orig_html(orig)}</blockquote></div>\n')
    return alt(hdrs(frm, subject or subj(orig), orig, trusted, extra), plain, htm)

# --- Outlook desktop (Windows, NL): windows-1252 QP, top-post, header block, disclaimer.
DISCLAIMER = ("Disclaimer: Dit bericht is uitsluitend bestemd voor de geadresseerde. "
              "Als u dit bericht onterecht ontvangt, wordt u verzocht de inhoud niet te gebruiken.")
def outlook_block(orig, when="maandag 1 februari 2027 10:00", key2="Verzonden"):
    return (f"Van: LIDO leernetwerken <{COORD}> \n{key2}: {when}\nAan: Lead <lead@school.test>\n"
            f"Onderwerp: {orig['Subject'] if orig is not None else ''}\n\n")
def outlook(frm, new, orig, subject=None, trusted=True, extra=None, key2="Verzonden", when="maandag 1 februari 2027 10:00", cs="windows-1252"):
    new_lines = new.split("\n")
    plain = new + "\n\n" + DISCLAIMER + "\n\n" + outlook_block(orig, when, key2) + orig_text(orig) + "\n"
    ps = "".join(f'<p class="MsoNormal">{H.escape(l) if l else "&nbsp;"}<o:p></o:p></p>\n' for l in new_lines)
    htm = ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>'
           '<body lang="NL" link="#0563C1"><div class="WordSection1">' + ps +
           f'<p class="MsoNormal"><span style="font-size:8.0pt">{H.escape(DISCLAIMER)}</span></p>'
           '<div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
           f'<p class="MsoNormal"><b><span lang="NL">Van:</span></b><span lang="NL"> LIDO leernetwerken &lt;{COORD}&gt; <br><b>{key2}:</b> {when}<br><b>Aan:</b> Lead &lt;lead@school.test&gt;<br><b>Onderwerp:</b> {H.escape(orig["Subject"] if orig is not None else "")}<o:p></o:p></span></p></div></div>'
           f'<p class="MsoNormal"><o:p>&nbsp;</o:p></p>{orig_html(orig)}</div></body></html>')
    return alt(hdrs(frm, subject or subj(orig, "RE: "), orig, trusted, dict({"Thread-Topic": orig["Subject"] if orig is not None else "x", "X-MS-Has-Attach": "", "Content-Language": "nl-NL"}, **(extra or {}))), plain, htm, pcs=cs)

# --- OWA / new Outlook: HTML only, &nbsp;, divRplyFwdMsg.
def owa(frm, new, orig, subject=None, trusted=True, extra=None, key2="Verzonden"):
    ps = "".join(f'<div style="font-family: Aptos, sans-serif; font-size: 12pt;">{H.escape(l).replace(" ", "&nbsp;", 1) if l else "<br>"}</div>' for l in new.split("\n"))
    htm = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head>'
           '<body dir="ltr">' + ps + '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
           f'<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>Van:</b> LIDO leernetwerken &lt;{COORD}&gt;<br><b>{key2}:</b> maandag 1 februari 2027 10:00<br><b>Aan:</b> Lead &lt;lead@school.test&gt;<br><b>Onderwerp:</b> {H.escape(orig["Subject"] if orig is not None else "")}</font><div>&nbsp;</div></div>'
           f'{orig_html(orig)}</body></html>')
    h = hdrs(frm, subject or subj(orig, "RE: "), orig, trusted, extra)
    return (h + 'Content-Type: text/html; charset="iso-8859-1"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' + qp(htm, "iso-8859-1") + "\r\n").encode("ascii")

# --- Outlook for iOS: both parts, "Outlook voor iOS downloaden", underscores line + header block.
def outlook_ios(frm, new, orig, subject=None, trusted=True, extra=None):
    plain = (new + "\n\nOutlook voor iOS<https://aka.ms/o0ukef> downloaden\n________________________________\n" + outlook_block(orig) + orig_text(orig) + "\n")
    ds = "".join(f'<div dir="auto">{H.escape(l) if l else "<br>"}</div>' for l in new.split("\n"))
    htm = (f'<html><head></head><body><div dir="ltr">{ds}<div dir="ltr"><br></div><div id="ms-outlook-mobile-signature" dir="auto">Outlook voor iOS <a href="https://aka.ms/o0ukef">downloaden</a></div></div>'
           f'<hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif"><b>Van:</b> LIDO leernetwerken &lt;{COORD}&gt;<br><b>Verzonden:</b> Monday, February 1, 2027 10:00:00 AM<br><b>Aan:</b> Lead &lt;lead@school.test&gt;<br><b>Onderwerp:</b> {H.escape(orig["Subject"] if orig is not None else "")}</font><div>&nbsp;</div></div>{orig_html(orig)}</body></html>')
    return alt(hdrs(frm, subject or subj(orig), orig, trusted, extra), plain, htm, penc="b64")

# --- Apple Mail on iPhone: QP utf-8, "Verstuurd vanaf mijn iPhone", quoted attribution.
def iphone(frm, new, orig, subject=None, trusted=True, extra=None):
    quoted = f"> Op 1 feb 2027 om 10:00 heeft LIDO leernetwerken <{COORD}> het volgende geschreven:\n> \n> \ufeff" + "\n".join("> " + l for l in orig_text(orig).splitlines())
    plain = new + "\n\nVerstuurd vanaf mijn iPhone\n\n" + quoted + "\n"
    ds = "".join(f'<div dir="ltr">{H.escape(l) if l else "<br>"}</div>' for l in new.split("\n"))
    htm = (f'<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body dir="auto">{ds}<div dir="ltr"><br><div dir="ltr">Verstuurd vanaf mijn iPhone</div>'
           f'<div dir="ltr"><br><blockquote type="cite">Op 1 feb 2027 om 10:00 heeft LIDO leernetwerken &lt;{COORD}&gt; het volgende geschreven:<br><br></blockquote></div>'
           f'<blockquote type="cite"><div dir="ltr">{orig_html(orig)}</div></blockquote></div></body></html>')
    return alt(hdrs(frm, subject or subj(orig), orig, trusted, dict({"X-Mailer": "iPhone Mail (21E236)"}, **(extra or {}))), plain, htm)

# --- Thunderbird: format=flowed, 8bit, optionally bottom-posted.
def flow(s, width=72):
    out = []
    for line in s.split("\n"):
        if line.startswith(">") or len(line) <= width:
            out.append(line.rstrip(" ")); continue
        parts = textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
        out += [p + " " for p in parts[:-1]] + [parts[-1]]
    return "\r\n".join(out)
def thunderbird(frm, new, orig, subject=None, trusted=True, extra=None, bottom=False):
    attrib = "Op 01-02-2027 om 10:00 schreef LIDO leernetwerken:"
    q = "\n".join(">" + (" " + l if l else "") for l in orig_text(orig).splitlines())
    body = (attrib + "\n" + q + "\n\n" + new + "\n") if bottom else (new + "\n\n" + attrib + "\n" + q + "\n")
    h = hdrs(frm, subject or subj(orig), orig, trusted, dict({"User-Agent": "Mozilla Thunderbird", "Content-Language": "nl"}, **(extra or {})))
    return (h + "Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + flow(body) + "\r\n").encode()


def edited(orig, drop):
    """orig with every line (text and HTML) that holds one of drop taken
    out: what a lead does to the reminder's list before replying."""
    from email.message import EmailMessage
    keep = lambda line: not any(d in line for d in drop)  # noqa: E731
    plain = "\n".join(line for line in text(orig).splitlines() if keep(line))
    htm = orig.get_body(preferencelist=("html",)).get_content()
    htm = "\n".join(line for line in htm.splitlines() if keep(line))
    m = EmailMessage()
    for h in ("Subject", "Message-ID", "References"):
        if orig[h]:
            m[h] = orig[h]
    m.set_content(plain)
    m.add_alternative(htm, subtype="html")
    return m
