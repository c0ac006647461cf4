"""The layers of docs/DESIGN.md hold: every import of the repository's own modules (at the top of a file or
inside a function) goes to a layer the table in DESIGN.md allows. The table is read from DESIGN.md, so the
page and the code cannot drift apart."""
import ast
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE_START = '<!-- layers: read by tests/test_layers.py -->'


def layer_table():
    """{layer name: (the top-level modules in it, the top-level modules it may import)} from DESIGN.md."""
    with open(os.path.join(REPO, 'docs', 'DESIGN.md')) as f:
        text = f.read()
    rows = text[text.index(TABLE_START):].split('\n\n')[0].splitlines()[3:]
    table = {}
    for row in rows:
        name, members, imports = [cell.strip() for cell in row.strip('|').split('|')]
        names = lambda cell: [m.strip('` ').rstrip('/').removesuffix('.py') for m in cell.split(',') if m.strip('` —')]
        table[name] = (names(members), names(imports))
    return table


def own_top_levels():
    return {name.removesuffix('.py') for name in os.listdir(REPO)
            if (name.endswith('.py') or os.path.isfile(os.path.join(REPO, name, '__init__.py'))
                or name in ('scripts', 'utils', 'benchmarks', 'tests')) and not name.startswith('.')}


def python_files(member):
    path = os.path.join(REPO, member + ('.py' if os.path.isfile(os.path.join(REPO, member + '.py')) else ''))
    if path.endswith('.py'):
        yield path
        return
    for folder, _, files in os.walk(path):
        yield from (os.path.join(folder, f) for f in files if f.endswith('.py'))


def imported_top_levels(path):
    """(line, top-level module) of every absolute import in the file."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split('.')[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split('.')[0]


def test_the_table_covers_every_top_level_module():
    members = {m for members, _ in layer_table().values() for m in members}
    assert own_top_levels() <= members | {'setup'}, own_top_levels() - members


@pytest.mark.parametrize('layer', list(layer_table()))
def test_no_import_runs_up_a_layer(layer):
    table = layer_table()
    members, allowed = table[layer]
    own = own_top_levels()
    wrong = []
    for member in members:
        for path in python_files(member):
            for line, top in imported_top_levels(path):
                if top in own and top != member and top not in allowed:
                    wrong.append(f'{os.path.relpath(path, REPO)}:{line} imports {top}')
    assert not wrong, f'{layer} may import only {allowed}: ' + '; '.join(wrong)


def test_nothing_outside_tests_imports_tests_or_changes_sys_path():
    found = []
    for top in own_top_levels() - {'tests'}:
        for path in python_files(top):
            with open(path) as f:
                source = f.read()
            if re.search(r'sys\.path\.(insert|append)', source):
                found.append(f'{os.path.relpath(path, REPO)} changes sys.path')
            found += [f'{os.path.relpath(path, REPO)}:{line} imports tests'
                      for line, name in imported_top_levels(path) if name == 'tests']
    assert not found, found
