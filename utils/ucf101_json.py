"""Build the UCF-101 annotation files ucf101_01.json, ucf101_02.json, ucf101_03.json.

    python utils/ucf101_json.py annotation_dir_path <ucfTrainTestlist dir> <dst dir>   (seed README)
    python utils/ucf101_json.py <ucfTrainTestlist dir> [<dst dir>] [--video_path JPG_ROOT]

Reads classInd.txt ("1 ApplyEyeMakeup"), trainlist0k.txt ("ApplyEyeMakeup/v_..._g08_c01.avi 1")
and testlist0k.txt ("ApplyEyeMakeup/v_..._g01_c01.avi") of UCF-101's ucfTrainTestlist (CRLF line
ends as shipped).  Labels are in classInd.txt order; trainlist videos get subset "training",
testlist videos "validation" (what the reference's training and test.py --test_subset val use).

--video_path, videos without frames and the error on a malformed split file: utils/splits.py.
"""
import os
import sys


from utils.splits import (SplitFileError, build_parser, find_ucf101_splits, load_ucf101_split,
                          parse_cli, run_conversion, write_splits)


def convert_ucf101_csv_to_json(dir_path, dst_dir_path, video_path=None, splits=None,
                               keep_missing=False, out=sys.stdout):
    """Write ucf101_0k.json for each split; returns the list of written paths."""
    found = find_ucf101_splits(dir_path)
    if splits is None:
        splits = found
        if not splits:
            raise SplitFileError(os.path.join(dir_path, 'trainlist01.txt'), None,
                                 'missing: no trainlist0k.txt in %s (is it the ucfTrainTestlist '
                                 'folder?)' % dir_path)
    return write_splits(splits, lambda split: load_ucf101_split(dir_path, split),
                        lambda split: os.path.join(dst_dir_path, 'ucf101_%02d.json' % split),
                        video_path, keep_missing, out)


def main(argv=None):
    parser = build_parser('ucf101_json.py',
                          'Build ucf101_01.json ... ucf101_03.json (labels in classInd.txt order, '
                          'subsets training/validation) from UCF-101\'s ucfTrainTestlist folder.',
                          'the ucfTrainTestlist folder (classInd.txt, trainlist0k.txt, '
                          'testlist0k.txt)', 'ucf101_01.json, ucf101_02.json, ucf101_03.json')
    return run_conversion(convert_ucf101_csv_to_json, parse_cli(parser, argv), '<Class>')


if __name__ == '__main__':
    sys.exit(main())
