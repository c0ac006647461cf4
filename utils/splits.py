"""Reading UCF-101 / HMDB-51 split files and writing the annotation JSON (shared by
utils/ucf101_json.py and utils/hmdb51_json.py).

With --video_path (the frames folder made by video_jpg_ucf101_hmdb51.py, or the HDF5 tree made by
generate_video_hdf5.py) every video also gets "segment": [1, n_frames + 1], and videos listed but
without frames are reported and left out (or, with --keep_missing, written without segment).

Split files are read as the datasets ship them: CRLF or LF line ends, an optional UTF-8 byte-order
mark, trailing spaces, blank lines.  Anything else that does not fit (wrong number of fields, a class
that is not in classInd.txt, a label that disagrees with classInd.txt, a video listed twice, an
HMDB-51 flag other than 0/1/2) raises SplitFileError, whose message names the file and the line.

The JSON is the reference's (ActivityNet-like) format::

    {"labels": [class names in class-index order],
     "database": {video_id: {"subset": "training" | "validation",
                             "annotations": {"label": class_name,
                                             "segment": [1, n_frames + 1]}}}}   # segment: only
                                                                               # with frames folder
"""
import argparse
import os
import re
import sys

from datasets.hdf5 import stored_frame_numbers
from core.errors import BadInput, run_command
from core.files import write_json_atomic
from core.flags import check_output_folder

SEED_LITERAL = 'annotation_dir_path'  # the seed README types this word before the folder


class SplitFileError(BadInput):
    """A split file that does not have the expected format; str() names file and line."""

    def __init__(self, path, line_no, message, line=None):
        self.path, self.line_no, self.message, self.line = path, line_no, message, line
        where = path if line_no is None else '%s, line %d' % (path, line_no)
        text = '%s: %s' % (where, message)
        if line is not None:
            text += ' (line reads %r)' % line
        super().__init__(text)


def read_lines(path):
    """``[(line_no, text)]`` of the non-blank lines, whitespace-stripped, CRLF/LF/BOM tolerant."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        raise SplitFileError(path, None, 'cannot read: %s' % (e.strerror or e))
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError:
        text = raw.decode('latin-1')
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line:
            out.append((i, line))
    return out


def two_fields(path, line_no, line, expected):
    """The two whitespace-separated fields of a split-file line; SplitFileError naming ``expected``."""
    fields = line.split()
    if len(fields) != 2:
        raise SplitFileError(path, line_no, "expected '%s', got %d field(s)" % (expected, len(fields)), line)
    return fields


# --------------------------------------------------------------------------------------------------
# UCF-101: ucfTrainTestlist/{classInd.txt, trainlist0k.txt, testlist0k.txt}


def parse_class_ind(path):
    """classInd.txt ("1 ApplyEyeMakeup" per line) -> class names in index order."""
    names, seen = [], {}
    for line_no, line in read_lines(path):
        index, name = two_fields(path, line_no, line, '<index> <ClassName>')
        try:
            index = int(index)
        except ValueError:
            raise SplitFileError(path, line_no, 'class index %r is not an integer' % index, line)
        if index != len(names) + 1:
            raise SplitFileError(path, line_no, 'class index %d out of order (expected %d: '
                                 'indices must run 1, 2, 3, ...)' % (index, len(names) + 1), line)
        if name in seen:
            raise SplitFileError(path, line_no, 'duplicate class %r (already at line %d)'
                                 % (name, seen[name]), line)
        seen[name] = line_no
        names.append(name)
    if not names:
        raise SplitFileError(path, None, 'no class listed')
    return names


def parse_ucf_list(path, class_names, seen=None):
    """trainlist0k.txt ("Class/v_X.avi 1") or testlist0k.txt ("Class/v_X.avi") ->
    ``[(video_id, class_name)]``.  `seen` maps video ids already read to (file, line) so a video
    listed twice, in one file or across train and test, is reported."""
    index = {name: i + 1 for i, name in enumerate(class_names)}
    seen = {} if seen is None else seen
    out = []
    for line_no, line in read_lines(path):
        fields = line.split()
        if len(fields) > 2:
            raise SplitFileError(path, line_no, "expected '<Class>/<video>.avi [label]', got %d "
                                 'fields' % len(fields), line)
        rel = fields[0].replace('\\', '/')
        parts = rel.split('/')
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise SplitFileError(path, line_no, "expected '<Class>/<video>.avi', got %r"
                                 % fields[0], line)
        class_name, file_name = parts
        if class_name not in index:
            raise SplitFileError(path, line_no, 'unknown class %r (not in classInd.txt)'
                                 % class_name, line)
        if len(fields) == 2:
            try:
                label = int(fields[1])
            except ValueError:
                raise SplitFileError(path, line_no, 'label %r is not an integer' % fields[1], line)
            if label != index[class_name]:
                raise SplitFileError(path, line_no, 'label %d does not match class %r (index %d '
                                     'in classInd.txt)' % (label, class_name, index[class_name]),
                                     line)
        video_id = os.path.splitext(file_name)[0]
        if video_id in seen:
            raise SplitFileError(path, line_no, 'duplicate video %r (already listed in %s, line %d)'
                                 % ((video_id,) + seen[video_id]), line)
        seen[video_id] = (path, line_no)
        out.append((video_id, class_name))
    return out


def find_ucf101_splits(dir_path):
    """Split numbers k for which trainlist0k.txt exists."""
    found = []
    for name in os.listdir(dir_path):
        m = re.match(r'^trainlist(\d+)\.txt$', name)
        if m:
            found.append(int(m.group(1)))
    return sorted(found)


def load_ucf101_split(dir_path, split):
    """(labels, [(video_id, class_name, subset)]) of one UCF-101 split."""
    class_names = parse_class_ind(os.path.join(dir_path, 'classInd.txt'))
    seen = {}
    entries = []
    for prefix, subset in (('trainlist', 'training'), ('testlist', 'validation')):
        path = os.path.join(dir_path, '%s%02d.txt' % (prefix, split))
        if not os.path.isfile(path):
            raise SplitFileError(path, None, 'missing (expected next to classInd.txt)')
        entries += [(v, c, subset) for v, c in parse_ucf_list(path, class_names, seen)]
    return class_names, entries


# --------------------------------------------------------------------------------------------------
# HMDB-51: testTrainMulti_7030_splits/<class>_test_split<k>.txt ("video.avi 0|1|2")

HMDB_FILE = re.compile(r'^(.+)_test_split(\d+)\.txt$')
HMDB_SUBSETS = {1: 'training', 2: 'validation'}  # 0: not used in that split


def find_hmdb51_files(dir_path):
    """{split: {class_name: path}} for every <class>_test_split<k>.txt in the folder."""
    files = {}
    for name in sorted(os.listdir(dir_path)):
        m = HMDB_FILE.match(name)
        if m:
            files.setdefault(int(m.group(2)), {})[m.group(1)] = os.path.join(dir_path, name)
    return files


def parse_hmdb51_file(path, class_name, seen=None):
    """One <class>_test_split<k>.txt -> ``[(video_id, class_name, subset)]`` (flag 0 dropped)."""
    seen = {} if seen is None else seen
    out = []
    for line_no, line in read_lines(path):
        file_name, flag = two_fields(path, line_no, line, '<video>.avi <0|1|2>')
        if flag not in ('0', '1', '2'):
            raise SplitFileError(path, line_no, 'flag %r is not 0 (unused), 1 (training) or 2 '
                                 '(testing)' % flag, line)
        video_id = os.path.splitext(file_name)[0]
        if video_id in seen:
            raise SplitFileError(path, line_no, 'duplicate video %r (already listed in %s, line %d)'
                                 % ((video_id,) + seen[video_id]), line)
        seen[video_id] = (path, line_no)
        if flag != '0':
            out.append((video_id, class_name, HMDB_SUBSETS[int(flag)]))
    return out


def load_hmdb51_splits(dir_path):
    """(labels, {split: [(video_id, class_name, subset)]}) for every split found."""
    files = find_hmdb51_files(dir_path)
    if not files:
        raise SplitFileError(dir_path, None, 'no <class>_test_split<k>.txt file found')
    classes = sorted(set(c for per_split in files.values() for c in per_split))
    splits = {}
    for split in sorted(files):
        per_class = files[split]
        for c in classes:
            if c not in per_class:
                raise SplitFileError(os.path.join(dir_path, '%s_test_split%d.txt' % (c, split)),
                                     None, 'missing (class %r has files for other splits)' % c)
        seen = {}
        entries = []
        for c in classes:
            entries += parse_hmdb51_file(per_class[c], c, seen)
        splits[split] = entries
    return classes, splits


# --------------------------------------------------------------------------------------------------
# frames and JSON


def build_database(labels, entries, video_path=None, keep_missing=False):
    """The annotation dict, plus the videos without frames: ``(data, missing, empty)``.

    Without `video_path` every entry is written with its label only (the old reference's JSON).
    With it, each video gets ``"segment": [1, n_frames + 1]`` from its frames folder
    ``video_path/<label>/<video_id>/`` or its HDF5 file ``<video_id>.hdf5`` there; a video whose folder is
    missing (or has no frame) is left out unless `keep_missing` (then it is written without segment).
    """
    database, missing, empty = {}, [], []
    for video_id, label, subset in entries:
        ann = {'label': label}
        if video_path is not None:
            found = stored_frame_numbers(os.path.join(video_path, label, video_id))
            n = found and found[0]
            if found and found[0] != found[1]:
                print('  WARNING %s/%s: highest frame %d but %d frame files (a gap; the missing frames fail '
                      'when read)' % (label, video_id, found[0], found[1]), file=sys.stderr)
            if not n:
                (missing if n is None else empty).append((video_id, label, subset))
                if not keep_missing:
                    continue
            else:
                ann['segment'] = [1, n + 1]
        database[video_id] = {'subset': subset, 'annotations': ann}
    return {'labels': list(labels), 'database': database}, missing, empty


def write_json(path, data):
    """Write atomically (temporary file in the same folder, then rename)."""
    write_json_atomic(data, path, indent=None)  # core.files: a normal file's mode (0644 under umask 022)


# --------------------------------------------------------------------------------------------------
# command line shared by ucf101_json.py and hmdb51_json.py


def build_parser(prog, description, split_dir_help, json_names):
    p = argparse.ArgumentParser(allow_abbrev=False,
        prog=prog, description=description,
        usage='%(prog)s [annotation_dir_path] SPLIT_DIR [DST_DIR] [--video_path JPG_ROOT] '
              '[options]\n       %(prog)s SPLIT_DIR JPG_ROOT DST_DIR',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='Forms accepted:\n'
               '  %(prog)s SPLIT_DIR                   writes the JSONs into SPLIT_DIR\n'
               '  %(prog)s SPLIT_DIR DST_DIR           writes them into DST_DIR\n'
               '  %(prog)s annotation_dir_path SPLIT_DIR DST_DIR\n'
               '                                       the seed README\'s form (the first word is '
               'literal)\n'
               '  %(prog)s SPLIT_DIR JPG_ROOT DST_DIR  the newer reference\'s form (= with '
               '--video_path JPG_ROOT)\n'
               'Output: ' + json_names + '.')
    p.add_argument('paths', nargs='+', metavar='PATH',
                   help='SPLIT_DIR: ' + split_dir_help + '; DST_DIR: where the JSON files go '
                        '(default: SPLIT_DIR); see the forms below')
    p.add_argument('--video_path', metavar='JPG_ROOT', default=None,
                   help='frames folder made by video_jpg_ucf101_hmdb51.py (<class>/<video>/'
                        'image_00001.jpg ...) or by generate_video_hdf5.py (<class>/<video>.hdf5). When '
                        'given, every video also gets "segment": [1, n_frames + 1] (the newer reference\'s '
                        'JSON), and videos listed in the split files but without frames are reported and left '
                        'out. Without it, '
                        'the JSON holds the label only (the CVPR2018 reference\'s JSON)')
    p.add_argument('--keep_missing', action='store_true',
                   help='with --video_path: keep videos that have no frames folder (written '
                        'without segment) instead of leaving them out')
    p.add_argument('--splits', type=int, nargs='+', default=None, metavar='K',
                   help='which splits to write (default: every split found in SPLIT_DIR)')
    return p


def parse_cli(parser, argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == SEED_LITERAL:
        argv = argv[1:]
    args = parser.parse_intermixed_args(argv)
    paths = args.paths
    if len(paths) == 1:
        args.dir_path, args.dst_dir_path = paths[0], paths[0]
    elif len(paths) == 2:
        args.dir_path, args.dst_dir_path = paths
    elif len(paths) == 3:
        if args.video_path is not None:
            parser.error('three paths mean SPLIT_DIR JPG_ROOT DST_DIR; do not also give '
                         '--video_path')
        args.dir_path, args.video_path, args.dst_dir_path = paths
    else:
        parser.error('expected SPLIT_DIR [DST_DIR], got %d paths' % len(paths))
    if not os.path.isdir(args.dir_path):
        parser.error('SPLIT_DIR %s is not a folder' % args.dir_path)
    if args.video_path is not None and not os.path.isdir(args.video_path):
        parser.error('JPG_ROOT %s is not a folder' % args.video_path)
    return args


def report_and_write(path, data, missing, empty, video_path, keep_missing, out=sys.stdout):
    """Write one JSON and print what it holds; returns False if no listed video had frames."""
    db = data['database']
    n_train = sum(1 for v in db.values() if v['subset'] == 'training')
    n_val = sum(1 for v in db.values() if v['subset'] == 'validation')
    write_json(path, data)
    print('%s: %d classes, %d training + %d validation videos'
          % (path, len(data['labels']), n_train, n_val), file=out)
    ok = True
    if video_path is not None:
        lacking = missing + empty
        if lacking:
            listed = len(db) if keep_missing else len(db) + len(lacking)
            print('  WARNING: %d of %d listed videos have no frames under %s (%d missing folder%s, '
                  '%d empty); %s:' % (len(lacking), listed, video_path, len(missing),
                                      '' if len(missing) == 1 else 's', len(empty),
                                      'kept without segment' if keep_missing else 'left out'),
                  file=out)
            for video_id, label, subset in lacking[:20]:
                print('    %s/%s (%s)' % (label, video_id, subset), file=out)
            if len(lacking) > 20:
                print('    ... and %d more' % (len(lacking) - 20), file=out)
        ok = any('segment' in v['annotations'] for v in db.values())
    return ok


def check_not_empty(split, entries):
    """A split whose training or validation list is empty is an error naming that list."""
    subsets = {subset for _, _, subset in entries}
    empty = [name for name in ('training', 'validation') if name not in subsets]
    if empty:
        raise BadInput('split %d lists no %s videos (the %s list of split %d is empty, or every video of '
                       'it is flagged otherwise); check the split files'
                       % (split, ' and no '.join(empty), '/'.join(empty), split))


def write_splits(splits, split_entries, path_of, video_path=None, keep_missing=False, out=sys.stdout):
    """The annotation JSON of each split: ``split_entries(split)`` -> (labels, entries), written to
    ``path_of(split)``; returns (written paths, all_ok)."""
    written, all_ok = [], True
    for split in splits:
        labels, entries = split_entries(split)
        check_not_empty(split, entries)
        data, missing, empty = build_database(labels, entries, video_path, keep_missing)
        path = path_of(split)
        all_ok &= report_and_write(path, data, missing, empty, video_path, keep_missing, out)
        written.append(path)
    return written, all_ok


def run_conversion(convert, args, class_folder):
    """Run ``convert`` (ucf101 / hmdb51 converter) on parsed CLI args; returns the exit status (bad input:
    one 'error: ...' line, core.errors.run_command)."""
    def body():
        check_output_folder(args.dst_dir_path, 'DST_DIR')
        _, ok = convert(args.dir_path, args.dst_dir_path, args.video_path, args.splits, args.keep_missing)
        if not ok:
            raise BadInput('no listed video has frames under %s (expected %s/%s/<video>/image_00001.jpg or '
                           '<video>.hdf5); wrong --video_path?' % (args.video_path, args.video_path, class_folder))
        return 0

    return run_command(body, output=args.dst_dir_path)
