"""What every bench's report.py shares: replace (or append) the section a bench owns in
docs/BENCHMARKS.md, between its BEGIN and END markers, and the command-line entry point
`report.py ROWS.jsonl META.json [--doc docs/BENCHMARKS.md]`."""
import json
import pathlib


def write_doc(path, text, begin, end):
    doc = path.read_text()
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        doc = head + text + ("\n" + tail if tail else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc)


def main(argv, section, begin, end):
    """Prints section(rows, meta) and, with --doc PATH, writes it into PATH."""
    rows = [json.loads(line) for line in pathlib.Path(argv[1]).read_text().splitlines() if line.strip()]
    meta = json.loads(pathlib.Path(argv[2]).read_text())
    text = section(rows, meta)
    print(text, end="")
    if len(argv) == 5 and argv[3] == "--doc":
        write_doc(pathlib.Path(argv[4]), text, begin, end)
