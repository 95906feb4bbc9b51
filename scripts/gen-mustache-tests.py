#!/usr/bin/env python3
"""Turn the Mustache spec JSON files into a C table for test_template.c.

    scripts/gen-mustache-tests.py [SPECDIR] > tests/unit/mustache_spec.h

SPECDIR defaults to tests/fixtures/mustache-spec.  C has no JSON parser
here, so each case's data becomes a small C function that builds the same
tree with the tvars API:

    object        members; a nested object is tvars_child()
    string        tvars_set
    number        tvars_set with the number's JSON text (85, 1.21)
    true/false    tvars_set_bool
    null          tvars_set_bool(..., 0): falsey and renders as ""
    list          one tvars_add_item() per element; a plain element is
                  stored as the item's "." value
    []            tvars_set_bool(..., 0): an empty list is falsey, and
                  tvars has no way to make one
    non-object    the root's "." value (e.g. data "world" for {{.}})
    root

Cases are rendered in HTML mode without strictness (a missing name renders
as "", as the spec wants).  Every case of delimiters.json and partials.json
must fail with "delimiters/partials are not supported", whichever tag
comes first.  Cases that cannot be expressed are
skipped, each listed with its reason in mustache_skipped[].
"""

import json
import os
import sys

RENDERED = ["interpolation", "sections", "inverted", "comments"]
UNSUPPORTED = ["delimiters", "partials"]
# The first of these tags in a template decides the error.
UNSUPPORTED_TAGS = {
    "{{=": "delimiters are not supported",
    "{{>": "partials are not supported",
}

# (file, case name) -> reason.  None needed at spec commit 9cb20c3; kept so a
# newer spec can be adopted by listing what we knowingly do not do.
SKIP = {}


def c_str(s):
    out = ['"']
    for b in s.encode("utf-8"):
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "?":
            out.append("\\?")  # no trigraphs
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    out.append('"')
    return "".join(out)


def scalar_text(v):
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return repr(v)
    return str(v)


def has_lambda(v):
    if isinstance(v, dict):
        if v.get("__tag__") == "code":
            return True
        return any(has_lambda(x) for x in v.values())
    if isinstance(v, list):
        return any(has_lambda(x) for x in v)
    return False


def first_unsupported(template):
    found = [(template.find(tag), msg) for tag, msg in UNSUPPORTED_TAGS.items()
             if tag in template]
    return min(found)[1] if found else None


class Gen:
    def __init__(self):
        self.lines = []
        self.n = 0

    def var(self):
        self.n += 1
        return "t%d" % self.n

    def emit(self, depth, text):
        self.lines.append("\t" * depth + text)

    def member(self, depth, parent, key, v):
        k = c_str(key)
        if isinstance(v, bool):
            self.emit(depth, "tvars_set_bool(%s, %s, %d);" % (parent, k, int(v)))
        elif v is None or (isinstance(v, list) and not v):
            self.emit(depth, "tvars_set_bool(%s, %s, 0);" % (parent, k))
        elif isinstance(v, (str, int, float)):
            self.emit(depth, "tvars_set(%s, %s, %s);" %
                      (parent, k, c_str(scalar_text(v))))
        elif isinstance(v, dict) and not v:
            self.emit(depth, "tvars_child(%s, %s);" % (parent, k))
        elif isinstance(v, dict):
            c = self.var()
            self.emit(depth, "{")
            self.emit(depth + 1, "struct tvars *%s = tvars_child(%s, %s);" %
                      (c, parent, k))
            self.obj(depth + 1, c, v)
            self.emit(depth, "}")
        elif isinstance(v, list):
            for item in v:
                if isinstance(item, dict) and not item:
                    self.emit(depth, "tvars_add_item(%s, %s);" % (parent, k))
                    continue
                c = self.var()
                self.emit(depth, "{")
                self.emit(depth + 1, "struct tvars *%s = tvars_add_item(%s, %s);"
                          % (c, parent, k))
                if isinstance(item, dict):
                    self.obj(depth + 1, c, item)
                else:
                    self.member(depth + 1, c, ".", item)
                self.emit(depth, "}")
        else:
            raise ValueError("unexpected JSON value %r" % (v,))

    def obj(self, depth, parent, d):
        for key, v in d.items():
            self.member(depth, parent, key, v)

    def root(self, data):
        if isinstance(data, dict):
            self.obj(1, "v", data)
        else:
            self.member(1, "v", ".", data)


def main():
    specdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests",
        "fixtures", "mustache-spec")
    funcs, cases, skipped = [], [], []

    for fname in RENDERED + sorted(UNSUPPORTED):
        with open(os.path.join(specdir, fname + ".json"), encoding="utf-8") as f:
            spec = json.load(f)
        for t in spec["tests"]:
            name = t["name"]
            reason = SKIP.get((fname, name))
            if reason is None and has_lambda(t["data"]):
                reason = "lambdas are not supported"
            error = first_unsupported(t["template"])
            if reason is None and fname in UNSUPPORTED and error is None:
                reason = "needs the %s of the case, which we do not " \
                    "render" % fname
            if reason is not None:
                skipped.append("%s: %s: %s" % (fname, name, reason))
                continue
            idx = len(cases)
            g = Gen()
            g.root(t["data"])
            body = "\n".join(g.lines) if g.lines else "\t(void)v;"
            funcs.append("static void\nmc_build_%d(struct tvars *v)\n{\n%s\n}\n"
                         % (idx, body))
            if fname in UNSUPPORTED:
                expected, error = "NULL", c_str(error)
            else:
                expected, error = c_str(t["expected"]), "NULL"
            cases.append("\t{ %s, %s,\n\t  %s,\n\t  %s, %s, mc_build_%d },"
                         % (c_str(fname), c_str(name), c_str(t["template"]),
                            expected, error, idx))

    out = sys.stdout
    out.write("/*\n * Generated by scripts/gen-mustache-tests.py from "
              "tests/fixtures/mustache-spec\n * (mustache/spec 9cb20c3, MIT). "
              "Do not edit; regenerate.\n */\n")
    out.write("#ifndef MUSTACHE_SPEC_H\n#define MUSTACHE_SPEC_H\n\n")
    out.write("struct mustache_case {\n"
              "\tconst char\t*file;\n"
              "\tconst char\t*name;\n"
              "\tconst char\t*tmpl;\n"
              "\tconst char\t*expected;\t/* NULL: must fail with error */\n"
              "\tconst char\t*error;\n"
              "\tvoid\t\t(*build)(struct tvars *);\n"
              "};\n\n")
    out.write("\n".join(funcs))
    out.write("\nstatic const struct mustache_case mustache_cases[] = {\n")
    out.write("\n".join(cases))
    out.write("\n};\n\n")
    out.write("/* Cases not run, with the reason. */\n")
    out.write("static const char *const mustache_skipped[] = {\n")
    for s in skipped:
        out.write("\t%s,\n" % c_str(s))
    out.write("\tNULL\n};\n\n#endif\n")


if __name__ == "__main__":
    main()
