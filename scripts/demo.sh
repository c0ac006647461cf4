#!/usr/bin/env bash
# The whole pipeline on the embedded demo dataset, on the CPU: make the videos, extract JPEG frames,
# count them, build the annotation JSON, train a narrow 3D ResNet-10, and report video accuracy with
# test.py. Installs requirements.txt into .venv first if needed. Every step resumes where a previous
# run stopped (training continues from last.pdparams). Extra arguments go to main.py, e.g.
#   bash scripts/demo.sh --n_epochs 80
# --no_tqdm reaches every step (plain progress lines instead of bars; bars are drawn only on a terminal anyway).
# Environment: DEMO_DIR (default data/demo), DEMO_RESULTS (default results/demo).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
cd "$ROOT"
PY="$VENV_PYTHON"
DATA=$(realpath -m "${DEMO_DIR:-data/demo}")
RESULTS=$(realpath -m "${DEMO_RESULTS:-results/demo}")  # absolute: main.py puts relative paths under --root_path
PROGRESS=()
for arg in "$@"; do if [ "$arg" = --no_tqdm ]; then PROGRESS=(--no_tqdm); fi; done

echo "== 1/5 demo videos -> $DATA/UCF-101"
overwrite=()
if [ ! -f "$DATA/.demo_params.json" ] && [ -d "$DATA/UCF-101" ]; then
    overwrite=(--overwrite)  # an interrupted earlier demo run: its params file is written last
fi
"$PY" scripts/make_demo_dataset.py "$DATA" "${overwrite[@]}" "${PROGRESS[@]}"

echo "== 2/5 frames -> $DATA/jpg"
"$PY" utils/video_jpg_ucf101_hmdb51.py "$DATA/UCF-101" "$DATA/jpg" "${PROGRESS[@]}"

echo "== 3/5 n_frames"
"$PY" utils/n_frames_ucf101_hmdb51.py "$DATA/jpg" "${PROGRESS[@]}"

echo "== 4/5 annotation -> $DATA/ucf101_0{1,2,3}.json"
"$PY" utils/ucf101_json.py "$DATA/ucfTrainTestlist" "$DATA" --video_path "$DATA/jpg"

echo "== 5/5 training -> $RESULTS/train"
DATA_FLAGS=(--root_path "$DATA" --video_path jpg --annotation_path ucf101_01.json --dataset ucf101
            --sample_size 32 --sample_duration 8 --n_threads 2)
resume=()
if [ -f "$RESULTS/train/last.pdparams" ]; then
    resume=(--resume_path "$RESULTS/train/last.pdparams")
else
    rm -rf "$RESULTS/train"  # a run stopped inside its first epoch has nothing to resume
fi
# Plain momentum (--dampening 0): the reference's dampening 0.9 scales every step by 0.1, too slow
# for a 30-epoch demo. Learning rate 0.01: at 0.05 one seed in three stalled (video top-1 0.60).
"$PY" main.py "${DATA_FLAGS[@]}" --result_path "$RESULTS/train" --n_classes 6 \
    --model resnet --model_depth 10 --resnet_widen_factor 0.25 --batch_size 16 \
    --learning_rate 0.01 --dampening 0 --lr_scheduler cosine --n_epochs 30 --checkpoint 10 --device cpu \
    "${resume[@]}" "$@"

echo "== video accuracy of the last epoch (test.py) -> $RESULTS/val"
"$PY" test.py "${DATA_FLAGS[@]}" --result_path "$RESULTS/val" --resume_path "$RESULTS/train/last.pdparams" \
    --batch_size 16 --device cpu "${PROGRESS[@]}"

echo "== curves and evaluation in VisualDL (from any folder; Ctrl+C stops it):"
echo "   $(printf '%q ' "$PY" "$ROOT/scripts/visualdl_server.py" --logdir "$RESULTS/train/vdl" "$RESULTS/val/vdl")"
