# shellcheck shell=bash
# Step validate: the zip served by Triton from the image exactly as the deployment mounts it.

# Named, so that a resumed run removes the container an interrupted one left running.
readonly triton_container=engine-build-triton

stop_triton() {
  docker logs "${triton_container}" >"${work_dir}/triton.log" 2>&1 || true
  docker rm -f "${triton_container}" >/dev/null 2>&1 || true
}

# Fails unless a /generate answer (a JSON object) has a text_output without the prompt or the end token.
check_answer() {
  local what=$1 text
  text=$(jq -r 'if type == "object" and (.text_output | type) == "string" then .text_output else empty end' <<<"$2") ||
    die "${what}: the answer is not JSON: $2"
  [ -n "${text}" ] || die "${what}: the answer has no text_output: $2"
  if [ -n "${END_TOKEN:-}" ] && [[ ${text} == *"${END_TOKEN}"* ]]; then
    die "${what}: text_output contains the end token ${END_TOKEN}: generation did not stop at it (end_id / skip_special_tokens): ${text}"
  fi
  if [[ ${text} == *"${PROMPT}"* ]]; then
    die "${what}: text_output repeats the prompt (exclude_input_in_output is off): ${text}"
  fi
  log "${what}: text_output: ${text}"
}

step_validate() {
  local deployed=${work_dir}/deployed base cmd running model code
  base=http://127.0.0.1:${HTTP_PORT}
  rm -rf "${deployed}"
  mkdir -p "${deployed}"
  x unzip -q "${work_dir}/model.zip" -d "${deployed}"
  mapfile -t cmd < <(jq -r '.[]' <<<"${CONTAINER_CMD}")
  stop_triton
  trap stop_triton EXIT
  # A Data Science model deployment mounts the unzipped artifact read-only at
  # /opt/ds/model/deployed_model (a top-level folder of the zip is a path level there) and runs
  # CONTAINER_CMD as the container's command, the image's entrypoint unchanged.
  x docker run -d --name "${triton_container}" --gpus all --ipc=host --network host --shm-size=2g \
    --ulimit memlock=-1 --ulimit stack=67108864 \
    -v "${deployed}:/opt/ds/model/deployed_model:ro" "$(build_image)" "${cmd[@]}"
  local deadline=$(($(now) + ${READY_TIMEOUT_SECONDS:-1200}))
  until curl -sf -o /dev/null "${base}/v2/health/ready"; do
    running=$(docker inspect -f '{{.State.Running}}' "${triton_container}" 2>/dev/null || echo false)
    [ "${running}" = true ] || die "Triton exited before it was ready: a model failed to load (Triton log below)"
    # With --exit-on-error=false Triton keeps running without the model and is never ready
    # (model_lifecycle.cc logs "failed to load '<model>' version <n>: <reason>").
    if docker logs "${triton_container}" 2>&1 | grep -q "failed to load '"; then
      die "a model failed to load and Triton will never be ready (Triton log below)"
    fi
    [ "$(now)" -lt "${deadline}" ] || die "Triton was not ready after ${READY_TIMEOUT_SECONDS:-1200} s (Triton log below)"
    sleep "${poll_seconds}"
  done
  log "Triton is ready on ${base}"
  for model in "${triton_models[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "${base}/v2/models/${model}/ready") || code=000
    [ "${code}" = 200 ] || die "model ${model} is not ready (HTTP ${code}): it failed to load (Triton log below)"
  done
  local answer
  answer=$(x curl -sS --max-time 300 -H 'Content-Type: application/json' \
    --data-binary "@${script_dir}/example-request.json" "${base}/v2/models/ensemble/generate") ||
    die "POST /v2/models/ensemble/generate failed"
  check_answer generate "${answer}"
  if [ "${STREAMING}" = true ]; then
    local events joined
    jq -c '. + {stream: true}' "${script_dir}/example-request.json" >"${work_dir}/stream-request.json"
    events=$(x curl -sS -N --max-time 300 -H 'Content-Type: application/json' \
      --data-binary "@${work_dir}/stream-request.json" "${base}/v2/models/ensemble/generate_stream") ||
      die "POST /v2/models/ensemble/generate_stream failed"
    # Server-sent events: one `data: {...}` line per partial answer; errors arrive as {"error": ...}.
    if grep '^data:' <<<"${events}" | sed 's/^data: *//' | jq -s -e 'any(.[]; has("error"))' >/dev/null 2>&1; then
      die "generate_stream: the stream carried an error: ${events}"
    fi
    joined=$(grep '^data:' <<<"${events}" | sed 's/^data: *//' | jq -s '{text_output: (map(.text_output // "") | join(""))}') ||
      die "generate_stream: the events are not JSON: ${events}"
    check_answer generate_stream "${joined}"
  fi
  stop_triton
  trap - EXIT
}
