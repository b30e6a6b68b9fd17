"""A small JSON Schema (draft 2020-12) validator for the part of the
standard docs/note.schema.json uses, and the check every end-to-end test's
`rapport render --format json` output goes through (harness.run calls
check_outputs).

The keywords understood: type (a name or a list of names), properties,
required, additionalProperties (true, false or a schema), items (one schema
for every element), enum, const, minimum, maximum, minItems, $ref (to a
place in the same document, "#/$defs/NAME" or any "#/..." pointer) and
$defs. The annotations $schema, $id, title, description and $comment are
read and ignored. Any other keyword is an error in the schema: a schema must
not use what this validator would silently skip.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
NOTE_SCHEMA = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "note.schema.json")

ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment", "$defs"}
KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "const",
            "minimum", "maximum", "minItems", "$ref"} | ANNOTATIONS


class SchemaError(Exception):
    """The schema itself uses something this validator does not know."""


def _is_type(value, name):
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    raise SchemaError("unknown type %r" % name)


def _resolve(root, ref):
    if not ref.startswith("#"):
        raise SchemaError("only references into the same document are supported: %r" % ref)
    node = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise SchemaError("unresolvable $ref %r" % ref)
        node = node[part]
    return node


def _equal(a, b):
    # JSON equality: true is not 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def errors(instance, schema, root=None, path="$"):
    """The list of places where `instance` breaks `schema`, each as
    "PATH: what is wrong"; empty when it is valid."""
    if root is None:
        root = schema
    if schema is True:
        return []
    if schema is False:
        return ["%s: no value is allowed here" % path]
    if not isinstance(schema, dict):
        raise SchemaError("a schema is an object or a boolean, not %r" % (schema,))
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise SchemaError("unsupported keywords %s" % sorted(unknown))
    out = []
    if "$ref" in schema:
        out += errors(instance, _resolve(root, schema["$ref"]), root, path)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(instance, n) for n in names):
            # Nothing else can be checked sensibly against the wrong type.
            return out + ["%s: expected %s, got %s" % (path, " or ".join(names),
                                                       type(instance).__name__)]
    if "enum" in schema and not any(_equal(instance, e) for e in schema["enum"]):
        out.append("%s: not one of %r" % (path, schema["enum"]))
    if "const" in schema and not _equal(instance, schema["const"]):
        out.append("%s: not %r" % (path, schema["const"]))
    number = isinstance(instance, (int, float)) and not isinstance(instance, bool)
    if "minimum" in schema and number and instance < schema["minimum"]:
        out.append("%s: below the minimum %r" % (path, schema["minimum"]))
    if "maximum" in schema and number and instance > schema["maximum"]:
        out.append("%s: above the maximum %r" % (path, schema["maximum"]))
    if isinstance(instance, list):
        if "minItems" in schema and len(instance) < schema["minItems"]:
            out.append("%s: fewer than %d items" % (path, schema["minItems"]))
        if "items" in schema:
            for i, item in enumerate(instance):
                out += errors(item, schema["items"], root, "%s[%d]" % (path, i))
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in instance:
                out.append("%s: %r is required" % (path, key))
        for key, value in instance.items():
            sub = "%s.%s" % (path, key)
            if key in props:
                out += errors(value, props[key], root, sub)
            elif "additionalProperties" in schema:
                out += errors(value, schema["additionalProperties"], root, sub)
    return out


_note_schema = None


def note_schema():
    global _note_schema
    if _note_schema is None:
        with open(NOTE_SCHEMA, encoding="utf-8") as f:
            _note_schema = json.load(f)
    return _note_schema


def check_note(text, where):
    """Raises AssertionError unless `text` is one JSON note that the note
    schema accepts."""
    try:
        note = json.loads(text)
    except ValueError as e:
        raise AssertionError("%s: not JSON: %s" % (where, e))
    found = errors(note, note_schema())
    if found:
        raise AssertionError("%s: the note does not fit docs/note.schema.json:\n  %s"
                             % (where, "\n  ".join(found[:20])))


def _option(args, names):
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if a.startswith(n + "="):
                return a[len(n) + 1:]
    return None


def check_outputs(args, cwd, out, started):
    """Checks every JSON note a `rapport render --format json` run wrote:
    its standard output, its -o file, or the .json files of its --out-dir
    written since `started` (a time.time()). Other commands are ignored."""
    args = list(args)
    workspace = cwd or os.getcwd()
    c = _option(args, ["-C"])
    if c:
        workspace = os.path.join(workspace, c)
    if "render" not in args or _option(args, ["--format", "-f"]) != "json":
        return
    target = _option(args, ["-o"])
    out_dir = _option(args, ["--out-dir"])
    files = []
    if target and target != "-":
        # Never an input: a render refuses to write over one.
        if args.count(target) == 1:
            files = [os.path.join(workspace, target)]
    elif out_dir:
        d = os.path.join(workspace, out_dir)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                p = os.path.join(d, name)
                if name.endswith(".json") and os.path.getmtime(p) >= started - 1:
                    files.append(p)
    elif out.strip():
        # One note, or a batch to standard output: one note per line.
        try:
            json.loads(out)
            docs = [out]
        except ValueError:
            docs = [line for line in out.split("\n") if line.strip()]
        for i, doc in enumerate(docs):
            check_note(doc, "rapport %s: standard output, note %d" % (" ".join(args), i + 1))
        return
    for p in files:
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                check_note(f.read(), "rapport %s: %s" % (" ".join(args), os.path.basename(p)))
