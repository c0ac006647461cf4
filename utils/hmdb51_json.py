"""Build the HMDB-51 annotation files hmdb51_1.json, hmdb51_2.json, hmdb51_3.json.

    python utils/hmdb51_json.py annotation_dir_path <testTrainMulti_7030_splits dir> <dst dir>
    python utils/hmdb51_json.py <testTrainMulti_7030_splits dir> [<dst dir>] [--video_path JPG_ROOT]

Reads every <class>_test_split<k>.txt ("April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1"): flag 1 ->
subset "training", 2 -> "validation" (the split's test videos, as in the reference), 0 -> not
used in that split.  Labels are the class names sorted alphabetically (the reference's order).
The file names follow the reference: hmdb51_<k>.json.

--video_path, videos without frames and the error on a malformed split file: utils/splits.py.
"""
import os
import sys


from utils.splits import (SplitFileError, build_parser, load_hmdb51_splits, parse_cli,
                          run_conversion, write_splits)


def convert_hmdb51_csv_to_json(dir_path, dst_dir_path, video_path=None, splits=None,
                               keep_missing=False, out=sys.stdout):
    """Write hmdb51_k.json for each split; returns (written paths, all_ok)."""
    labels, per_split = load_hmdb51_splits(dir_path)
    if splits is None:
        splits = sorted(per_split)

    def split_entries(split):
        if split not in per_split:
            raise SplitFileError(os.path.join(dir_path, '<class>_test_split%d.txt' % split), None,
                                 'missing: no file for split %d' % split)
        return labels, per_split[split]

    return write_splits(splits, split_entries, lambda split: os.path.join(dst_dir_path, 'hmdb51_%d.json' % split),
                        video_path, keep_missing, out)


def main(argv=None):
    parser = build_parser('hmdb51_json.py',
                          'Build hmdb51_1.json ... hmdb51_3.json (labels sorted, subsets '
                          'training/validation) from HMDB-51\'s testTrainMulti_7030_splits folder.',
                          'the testTrainMulti_7030_splits folder (<class>_test_split<k>.txt)',
                          'hmdb51_1.json, hmdb51_2.json, hmdb51_3.json')
    return run_conversion(convert_hmdb51_csv_to_json, parse_cli(parser, argv), '<class>')


if __name__ == '__main__':
    sys.exit(main())
