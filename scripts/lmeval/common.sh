# Shared by the run_*.sh scripts: lm-evaluation-harness on CPU with HF transformers loading the
# repo's GGUF (no hub contact), local task YAMLs from $WORK. Sourced, not run.
# With LMEVAL_BASE_URL set (an OpenAI-compatible server such as `bench serve`, e.g.
# http://127.0.0.1:8000/v1), lm-eval's own `local-completions` model drives that server instead:
# LMEVAL_SERVED_MODEL is the request's model name (the layer policy, for `bench serve`),
# LMEVAL_TOKENIZER a Hugging Face tokenizer folder (scripts/lmeval/serve_agreement.sh makes one
# from the GGUF), LMEVAL_MAX_LENGTH the context window.
# usage: run_lm_eval PYTHON ROOT WORK TASKS LIMIT OUT
run_lm_eval() {
  local py=$1 root=$2 work=$3 tasks=$4 limit=$5 out=$6
  local model=hf
  local args="pretrained=$root/models,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32"
  if [ -n "${LMEVAL_BASE_URL:-}" ]; then
    model=local-completions
    args="model=${LMEVAL_SERVED_MODEL:?},base_url=$LMEVAL_BASE_URL/completions,tokenizer=${LMEVAL_TOKENIZER:?},tokenizer_backend=huggingface"
    args="$args,tokenized_requests=True,num_concurrent=${LMEVAL_CONCURRENT:-1},max_retries=3,max_length=${LMEVAL_MAX_LENGTH:-8192}"
  fi
  (cd "$work" && HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 "$py" -m lm_eval --model "$model" \
    --model_args "$args" \
    --tasks "$tasks" --include_path "$work" --limit "$limit" --batch_size 1 --device cpu \
    --output_path "$out" --log_samples)
}
