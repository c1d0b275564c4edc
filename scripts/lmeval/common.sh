# Shared by the run_*.sh scripts: lm-evaluation-harness on CPU with HF transformers loading the
# repo's GGUF (no hub contact), local task YAMLs from $WORK. Sourced, not run.
# usage: run_lm_eval PYTHON ROOT WORK TASKS LIMIT OUT
run_lm_eval() {
  local py=$1 root=$2 work=$3 tasks=$4 limit=$5 out=$6
  (cd "$work" && HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 "$py" -m lm_eval --model hf \
    --model_args "pretrained=$root/models,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32" \
    --tasks "$tasks" --include_path "$work" --limit "$limit" --batch_size 1 --device cpu \
    --output_path "$out" --log_samples)
}
