"""Ground truth for tool/python/line_table.c: the line of every instruction of the
standard library's code objects, as this interpreter itself computes it.

Runs on 2.7 and 3.6+. Compiles the .py files of the standard library (a
sample with --files N: every k-th of the sorted list; 0 for all), walks
every code object through co_consts and prints:

  line 1: a JSON report {"version", "major", "minor", "files_total", "files_sampled"}
  per code object: C <co_firstlineno> <table in hex, "-" if empty> OFF:SIZE:LINE ...
      the table is co_lnotab before 3.10, co_linetable from 3.10; one
      OFF:SIZE:LINE per instruction: its byte offset, its size in bytes
      (3.11+: cache entries included) and its line: co_lines() on 3.10+,
      dis.findlinestarts() carried forward before; 0 for no line, -1 when
      co_lines() has no range for it
  last line: END <files compiled> <files skipped> <code objects> <instructions>
"""
import dis
import json
import opcode
import os
import sys
import warnings

V = sys.version_info[:2]


def stdlib_files():
    lib = os.path.dirname(os.path.abspath(os.__file__))
    found = []
    for root, dirs, files in os.walk(lib):
        dirs[:] = sorted(d for d in dirs if d not in ("site-packages", "dist-packages", "__pycache__"))
        for name in sorted(files):
            if name.endswith(".py"):
                found.append(os.path.join(root, name))
    return found


def cache_units(op):
    """Inline cache entries after an instruction (3.11+): a list by opcode
    in 3.11-3.12, a mapping by name from 3.13."""
    table = getattr(opcode, "_inline_cache_entries", None)
    if table is None:
        return 0
    if isinstance(table, list):
        return table[op]
    return table.get(opcode.opname[op], 0)


def instructions(co):
    """(offset, size) of every instruction, from the bytecode itself."""
    code = bytearray(co.co_code)
    out = []
    i = 0
    while i < len(code):
        if V < (3, 6):
            size = 3 if code[i] >= opcode.HAVE_ARGUMENT else 1
        elif V < (3, 11):
            size = 2
        else:
            size = 2 * (1 + cache_units(code[i]))
        out.append((i, size))
        i += size
    return out


def lines_from_starts(co, instrs):
    starts = sorted(dis.findlinestarts(co))
    line, k, out = co.co_firstlineno, 0, []
    for off, _ in instrs:
        while k < len(starts) and starts[k][0] <= off:
            line = starts[k][1]
            k += 1
        out.append(line)
    return out


def lines_from_ranges(co, instrs):
    ranges = list(co.co_lines())
    k, out = 0, []
    for off, _ in instrs:
        while k < len(ranges) and ranges[k][1] <= off:
            k += 1
        if k < len(ranges) and ranges[k][0] <= off:
            out.append(ranges[k][2] if ranges[k][2] is not None else 0)
        else:
            out.append(-1)
    return out


def hexstr(b):
    if not b:
        return "-"
    if isinstance(b, str):  # 2.7
        return "".join("%02x" % ord(c) for c in b)
    return b.hex()


def dump(co, out):
    """One line per code object; returns its instruction count."""
    instrs = instructions(co)
    if V >= (3, 10):
        table, lines = co.co_linetable, lines_from_ranges(co, instrs)
    else:
        table, lines = co.co_lnotab, lines_from_starts(co, instrs)
    parts = ["C", str(co.co_firstlineno), hexstr(table)]
    for (off, size), line in zip(instrs, lines):
        parts.append("%d:%d:%d" % (off, size, line))
    out.append(" ".join(parts) + "\n")
    return len(instrs)


def main():
    nfiles = 100
    if len(sys.argv) == 3 and sys.argv[1] == "--files":
        nfiles = int(sys.argv[2])
    files = stdlib_files()
    step = max(1, -(-len(files) // nfiles)) if nfiles > 0 else 1
    sample = files[::step]
    report = {"version": "%d.%d.%d" % sys.version_info[:3], "major": V[0], "minor": V[1],
              "files_total": len(files), "files_sampled": len(sample)}
    sys.stdout.write(json.dumps(report) + "\n")
    warnings.simplefilter("ignore")
    compiled = skipped = ncode = ninstr = 0
    out = []
    for path in sample:
        try:
            with open(path, "rb") as f:
                top = compile(f.read(), path, "exec", 0, True)
        except Exception:
            skipped += 1
            continue
        compiled += 1
        todo = [top]
        while todo:
            co = todo.pop()
            ninstr += dump(co, out)
            ncode += 1
            todo.extend(c for c in co.co_consts if isinstance(c, type(top)))
        sys.stdout.write("".join(out))
        out = []
    sys.stdout.write("END %d %d %d %d\n" % (compiled, skipped, ncode, ninstr))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
