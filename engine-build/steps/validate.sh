# shellcheck shell=bash
# Step validate: the zip served by Triton from the image exactly as the model deployment runs it,
# and asked what the deployment's endpoint serves a known-answer question.

# Named, so that a resumed run removes the container an interrupted one left running.
readonly triton_container=engine-build-triton
# OCI gives a model deployment's container 10 minutes to start (OCI docs, Data Science, "Model Deployment
# Troubleshooting": the container must start within 10 minutes).
readonly oci_start_limit_seconds=600

stop_triton() {
  docker logs "${triton_container}" >"${work_dir}/triton.log" 2>&1 || true
  docker rm -f "${triton_container}" >/dev/null 2>&1 || true
}

# The container as the deployment runs it: its entrypoint (the image's own when empty) and command,
# its environment, its port, the unzipped artifact read-only at /opt/ds/model/deployed_model (a
# top-level folder of the zip is a path level there). Nothing the deployment does not get: no host
# network or IPC namespace, no extra shared memory or ulimits; the port is published on loopback.
start_triton() {
  local deployed=$1 cmd entrypoint environment=() name value
  mapfile -t cmd < <(jq -r '.[]' <<<"${CONTAINER_CMD}")
  mapfile -t entrypoint < <(jq -r '.[]' <<<"${CONTAINER_ENTRYPOINT}")
  while IFS= read -r -d '' name && IFS= read -r -d '' value; do
    environment+=(-e "${name}=${value}")
  done < <(jq -j 'to_entries[] | "\(.key)\u0000\(.value)\u0000"' <<<"${CONTAINER_ENV}")
  local entry=()
  # docker takes one executable as --entrypoint; the entrypoint's other words go before the command.
  [ "${#entrypoint[@]}" -eq 0 ] || entry=(--entrypoint "${entrypoint[0]}")
  x docker run -d --name "${triton_container}" --gpus all "${entry[@]}" "${environment[@]}" \
    -p "127.0.0.1:${HTTP_PORT}:${HTTP_PORT}" -v "${deployed}:/opt/ds/model/deployed_model:ro" \
    "$(build_image)" "${entrypoint[@]:1}" "${cmd[@]}"
}

wait_until_ready() {
  local base=$1 running model code
  local deadline=$(($(now) + ${READY_TIMEOUT_SECONDS:-${oci_start_limit_seconds}}))
  until curl -sf -o /dev/null "${base}/v2/health/ready"; do
    running=$(docker inspect -f '{{.State.Running}}' "${triton_container}" 2>/dev/null || echo false)
    [ "${running}" = true ] || die "Triton exited before it was ready: a model failed to load (Triton log below)"
    # With --exit-on-error=false Triton keeps running without the model and is never ready
    # (model_lifecycle.cc logs "failed to load '<model>' version <n>: <reason>").
    if docker logs "${triton_container}" 2>&1 | grep -q "failed to load '"; then
      die "a model failed to load and Triton will never be ready (Triton log below)"
    fi
    [ "$(now)" -lt "${deadline}" ] ||
      die "Triton was not ready after ${READY_TIMEOUT_SECONDS:-${oci_start_limit_seconds}} s, and OCI gives the deployment ${oci_start_limit_seconds} s (Triton log below)"
    sleep "${poll_seconds}"
  done
  log "Triton is ready on ${base}"
  # Exactly the models the deployment's command loads.
  for model in $(jq -r '.[] | select(startswith("--load-model=")) | ltrimstr("--load-model=")' <<<"${CONTAINER_CMD}"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "${base}/v2/models/${model}/ready") || code=000
    [ "${code}" = 200 ] || die "model ${model} is not ready (HTTP ${code}): it failed to load (Triton log below)"
  done
}

# usage: ask <what> <url> <request file>; prints the answer's text. /generate answers one JSON object,
# /generate_stream server-sent events (`data: {...}`), whose text_output pieces make the answer.
# Fails on an HTTP error, an error in the answer, a response without text_output or an empty answer.
ask() {
  local what=$1 url=$2 request=$3 body events
  body=$(x curl -sS --max-time 300 -w '\n%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@${request}" "${url}") || die "${what}: POST ${url} failed"
  [ "$(tail -n 1 <<<"${body}")" = 200 ] || die "${what}: POST ${url} answered HTTP $(tail -n 1 <<<"${body}"): $(sed '$d' <<<"${body}")"
  body=$(sed '$d' <<<"${body}")
  if [[ ${url} == */generate_stream ]]; then
    events=$(sed -n 's/^data: *//p' <<<"${body}" | jq -s -c .) || die "${what}: the events are not JSON: ${body}"
  else
    events=$(jq -s -c . <<<"${body}") || die "${what}: the answer is not JSON: ${body}"
  fi
  jq -e 'length > 0' <<<"${events}" >/dev/null || die "${what}: no answer came back: ${body}"
  ! jq -e 'any(.[]; has("error"))' <<<"${events}" >/dev/null || die "${what}: the answer carried an error: ${body}"
  jq -e 'all(.[]; (.text_output | type) == "string")' <<<"${events}" >/dev/null ||
    die "${what}: a response has no text_output: ${body}"
  jq -r -j 'map(.text_output) | join("")' <<<"${events}"
}

# usage: check_answer <what> <answer>
check_answer() {
  local what=$1 answer=$2
  log "${what}: answer: ${answer}"
  [ -n "${answer//[[:space:]]/}" ] || die "${what}: the answer is empty"
  [[ ${answer} == *"${VALIDATION_EXPECT}"* ]] ||
    die "${what}: the answer does not hold '${VALIDATION_EXPECT}' (build.validation.expect): the engine answers wrongly: ${answer}"
}

step_validate() {
  local deployed=${work_dir}/deployed base endpoint whole streamed=""
  base=http://127.0.0.1:${HTTP_PORT}
  rm -rf "${deployed}" "${work_dir}/validation.json"
  mkdir -p "${deployed}"
  x unzip -q "${work_dir}/model.zip" -d "${deployed}"
  stop_triton
  trap stop_triton EXIT
  start_triton "${deployed}"
  wait_until_ready "${base}"
  # What OCI's /predict (and /predictWithResponseStream) forward to: the ensemble, or on a
  # streaming stack tensorrt_llm_bls.
  endpoint=$(jq -r .MODEL_DEPLOY_PREDICT_ENDPOINT <<<"${CONTAINER_ENV}")
  log "asking ${endpoint}: $(jq -c . "${script_dir}/validation-request.json")"
  if [ "${STREAMING}" = true ]; then
    jq -c '. + {stream: false}' "${script_dir}/validation-request.json" >"${work_dir}/validation-whole.json"
    jq -c '. + {stream: true}' "${script_dir}/validation-request.json" >"${work_dir}/validation-streamed.json"
    whole=$(ask whole "${base}${endpoint}" "${work_dir}/validation-whole.json")
    check_answer whole "${whole}"
    streamed=$(ask streamed "${base}${endpoint}" "${work_dir}/validation-streamed.json")
    check_answer streamed "${streamed}"
  else
    whole=$(ask whole "${base}${endpoint}" "${script_dir}/validation-request.json")
    check_answer whole "${whole}"
  fi
  jq -n -c --arg endpoint "${endpoint}" --slurpfile request "${script_dir}/validation-request.json" \
    --arg expect "${VALIDATION_EXPECT}" --arg answer "${whole}" --arg streamed "${streamed}" \
    --argjson streaming "${STREAMING}" \
    '{endpoint: $endpoint, prompt: $request[0].text_input, expect: $expect, answer: $answer}
      + (if $streaming then {streamedAnswer: $streamed} else {} end)' >"${work_dir}/validation.json"
  stop_triton
  trap - EXIT
}
