# shellcheck shell=bash
# Step validate: the zip served by Triton from the image exactly as the model deployment runs it,
# with no network, and asked through the deployment's endpoint what a client relies on:
#   whole     the known-answer question (validation-request.json): an answer holding
#             VALIDATION_EXPECT
#   streamed  (streaming stacks) the same question streamed: the pieces join to exactly the whole
#             answer
#   stop      the same question with VALIDATION_EXPECT as a stop string (streamed on a streaming
#             stack): the answer is exactly the whole one up to where that text begins
#   two-rows  (streaming stacks, the only ones that take several rows in one request) the question
#             twice in one request, streamed: each row answers, told apart by batch_index, and holds
#             VALIDATION_EXPECT
# Every request is decoded greedily (top_k 1 in validation-request.json), so the same tokens come
# back each time. What each answered goes in the manifest (validation.json, lib/manifest.sh).
#
# An OpenAI stack (API=openai) runs the image's OpenAI frontend through the artifact's launcher
# instead, and is asked through its chat route, as OCI forwards clients' requests to it: the models
# it lists (exactly the repository's three), then the question as one chat message (greedy through
# top_p, components/deployment/openai-frontend.ts GREEDY_TOP_P) whole, streamed (the deltas join to
# exactly the whole answer) and streamed with VALIDATION_EXPECT as a stop string. An image without
# the frontend or its Python packages fails here, naming the image and deployment.api.

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
# its environment, the unzipped artifact read-only at /opt/ds/model/deployed_model (a top-level
# folder of the zip is a path level there). Nothing the deployment does not get: no host network or
# IPC namespace, no extra shared memory or ulimits. And no network at all (`--network none`: the
# container has a loopback interface only, Docker docs "None network driver"): a deployment may
# have no way out, so a model that fetches anything while it loads or answers (a tokenizer from the
# Hub, say) must fail here. A port cannot be published from such a container, so every request
# runs inside it (in_triton). Triton binds its HTTP port on every interface, loopback included
# (--http-address defaults to 0.0.0.0, server v2.57.0 src/command_line_parser.h:193). A tensor-
# parallel server's ranks still find each other: mpirun keeps the loopback interface when it is the
# only one (Open MPI orte/mca/oob/tcp/oob_tcp_component.c component_available: "we ignore the
# loopback interface unless nothing else is available"), and so does NCCL's bootstrap (NVIDIA/nccl
# src/misc/socket.cc ncclFindInterfaces: "Finally look for docker, then lo").
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
  x docker run -d --name "${triton_container}" --gpus all --network none "${entry[@]}" "${environment[@]}" \
    -v "${deployed}:/opt/ds/model/deployed_model:ro" "$(build_image)" "${entrypoint[@]:1}" "${cmd[@]}"
}

# usage: in_triton <curl arguments...> <path>: curl in Triton's container, on its loopback at
# HTTP_PORT, stdin passed on (`docker exec -i`); exits as curl does (Docker docs, "docker container
# exec"). The Triton images ship curl: server v2.57.0 build.py:1384-1386 installs it in the common
# layer (dockerfile_prepare_container_linux) of every image it builds.
in_triton() {
  local path=${*: -1}
  docker exec -i "${triton_container}" curl "${@:1:$#-1}" "http://127.0.0.1:${HTTP_PORT}${path}"
}

# The launcher's line when the image lacks the frontend (python/launcher/openai_frontend.py).
readonly launcher_refusal="openai_frontend.py: "

# usage: frontend_missing: dies naming the image and deployment.api when the container's log holds
# the launcher's refusal.
frontend_missing() {
  local line
  line=$(docker logs "${triton_container}" 2>&1 | grep -m 1 "^${launcher_refusal}") || return 0
  die "the serving image $(build_image) cannot run Triton's OpenAI frontend, which deployment.api openai serves through: ${line#"${launcher_refusal}"}. Fix: serve an image that ships it with its Python packages (image.source; it is at /opt/tritonserver/python/openai since 24.12), or set deployment.api triton"
}

wait_until_ready() {
  local running model code curl_checked=false health=/v2/health/ready
  local deadline=$(($(now) + ${READY_TIMEOUT_SECONDS:-${oci_start_limit_seconds}}))
  # The frontend answers its own readiness route once the Triton it runs is ready
  # (frontend/fastapi/routers/observability.py:38-49 of server v2.57.0).
  [ "${API}" != openai ] || health=/health/ready
  until in_triton -sf -o /dev/null "${health}" </dev/null 2>/dev/null; do
    running=$(docker inspect -f '{{.State.Running}}' "${triton_container}" 2>/dev/null || echo false)
    if [ "${running}" != true ]; then
      [ "${API}" != openai ] || frontend_missing
      die "Triton exited before it was ready: a model failed to load (Triton log below)"
    fi
    if [ "${curl_checked}" = false ]; then
      docker exec "${triton_container}" curl --version >/dev/null 2>&1 ||
        die "the serving image has no curl on PATH: the validation asks Triton from inside its container, which runs without a network"
      curl_checked=true
    fi
    # With --exit-on-error=false Triton keeps running without the model and is never ready
    # (model_lifecycle.cc logs "failed to load '<model>' version <n>: <reason>").
    if docker logs "${triton_container}" 2>&1 | grep -q "failed to load '"; then
      die "a model failed to load and Triton will never be ready (Triton log below)"
    fi
    [ "$(now)" -lt "${deadline}" ] ||
      die "Triton was not ready after ${READY_TIMEOUT_SECONDS:-${oci_start_limit_seconds}} s, and OCI gives the deployment ${oci_start_limit_seconds} s (Triton log below)"
    sleep "${poll_seconds}"
  done
  log "Triton is ready on port ${HTTP_PORT} inside its container (no network)"
  [ "${API}" != openai ] || return 0
  # Exactly the models the deployment's command loads.
  for model in $(jq -r '.[] | select(startswith("--load-model=")) | ltrimstr("--load-model=")' <<<"${CONTAINER_CMD}"); do
    code=$(in_triton -s -o /dev/null -w '%{http_code}' "/v2/models/${model}/ready" </dev/null) || code=000
    [ "${code}" = 200 ] || die "model ${model} is not ready (HTTP ${code}): it failed to load (Triton log below)"
  done
}

# usage: ask <what> <endpoint path> <request file> [may-be-empty]; prints the answer's responses as
# one JSON array. /generate answers one JSON object, /generate_stream server-sent events
# (`data: {...}`), one per response (server v2.57.0 docs/protocol/extension_generate.md). Fails on an
# HTTP error, an error in the answer, a response without text_output, or no response at all unless
# `may-be-empty`: a stream whose text is empty has none (tensorrt_llm_bls then sends its final flag
# alone, which Triton turns into no event: server v2.57.0 src/http_server.cc:4196-4198, 4333-4338).
ask() {
  local what=$1 endpoint=$2 request=$3 empty=${4:-} body events
  log "${what}: asking ${endpoint}: $(jq -c . "${request}")"
  body=$(in_triton -sS --max-time 300 -w '\n%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @- "${endpoint}" <"${request}") || die "${what}: POST ${endpoint} failed"
  [ "$(tail -n 1 <<<"${body}")" = 200 ] || die "${what}: POST ${endpoint} answered HTTP $(tail -n 1 <<<"${body}"): $(sed '$d' <<<"${body}")"
  body=$(sed '$d' <<<"${body}")
  if [[ ${endpoint} == */generate_stream ]]; then
    events=$(sed -n 's/^data: *//p' <<<"${body}" | jq -s -c .) || die "${what}: the events are not JSON: ${body}"
  else
    events=$(jq -s -c . <<<"${body}") || die "${what}: the answer is not JSON: ${body}"
  fi
  [ "${empty}" = may-be-empty ] || jq -e 'length > 0' <<<"${events}" >/dev/null || die "${what}: no answer came back: ${body}"
  ! jq -e 'any(.[]; has("error"))' <<<"${events}" >/dev/null || die "${what}: the answer carried an error: ${body}"
  jq -e 'all(.[]; (.text_output | type) == "string")' <<<"${events}" >/dev/null ||
    die "${what}: a response has no text_output: ${body}"
  echo "${events}"
}

# usage: text_of <responses JSON>: their text_output pieces joined, as a JSON string. Texts stay JSON
# strings from here on: a shell variable would lose an answer's trailing newlines.
text_of() {
  jq -c 'map(.text_output) | join("")' <<<"$1"
}

# usage: check_answer <what> <text JSON>: not blank, and holding VALIDATION_EXPECT.
check_answer() {
  local what=$1 text=$2
  log "${what}: answer: $(jq -r . <<<"${text}")"
  jq -e 'explode | any(.[]; . > 32)' <<<"${text}" >/dev/null || die "${what}: the answer is empty"
  jq -e --arg expect "${VALIDATION_EXPECT}" 'contains($expect)' <<<"${text}" >/dev/null ||
    die "${what}: the answer does not hold '${VALIDATION_EXPECT}' (build.validation.expect): the engine answers wrongly: $(jq -r . <<<"${text}")"
}

# usage: check_same <what> <text JSON> <expected text JSON> <why>
check_same() {
  local what=$1 text=$2 expected=$3 why=$4
  log "${what}: answer: $(jq -r . <<<"${text}")"
  [ "${text}" = "${expected}" ] || die "${what}: the answer is ${text}, not ${expected}: ${why}"
}

# usage: check_rows <what> <responses JSON>; prints each row's text as a JSON array, by row. Every
# response of tensorrt_llm_bls carries batch_index, its request row.
check_rows() {
  local what=$1 events=$2 rows
  rows=$(jq -c 'group_by(.batch_index) | map({row: .[0].batch_index, text: (map(.text_output) | join(""))})' <<<"${events}")
  [ "$(jq -c 'map(.row)' <<<"${rows}")" = "[0,1]" ] ||
    die "${what}: two rows were asked and the responses name rows $(jq -c 'map(.row)' <<<"${rows}"), not [0,1]: ${events}"
  local row
  for row in 0 1; do
    check_answer "${what} row ${row}" "$(jq -c ".[${row}].text" <<<"${rows}")"
  done
  jq -c 'map(.text)' <<<"${rows}"
}

# usage: frontend_models: the models the OpenAI frontend lists (GET /v1/models,
# frontend/fastapi/routers/models.py:38-50), sorted, as a JSON array; it must list exactly the
# repository's, since it serves every model it loaded.
frontend_models() {
  local body models expected
  body=$(in_triton -sS --max-time 60 /v1/models </dev/null) || die "GET /v1/models failed"
  models=$(jq -c '[.data[].id] | sort' <<<"${body}") || die "GET /v1/models answered ${body}, not a model list"
  expected=$(jq -c -n --arg model "${OPENAI_MODEL}" '["preprocessing", "tensorrt_llm", $model] | sort')
  [ "${models}" = "${expected}" ] ||
    die "the OpenAI frontend lists the models ${models}, not ${expected}: it serves every model of its repository"
  echo "${models}"
}

# usage: ask_chat <what> <request file>; prints the answer's text as a JSON string. The frontend's
# chat route answers a whole request with one chat completion, its text in choices[0].message.content
# (engine/triton_engine.py:155-171), and a streamed one with server-sent events: a chunk with the
# role, one per response with its text in choices[0].delta.content, then `data: [DONE]`
# (:324-343). An error is an HTTP status with {"detail": ...} (frontend/fastapi/routers/chat.py:47-53).
ask_chat() {
  local what=$1 request=$2 route=/v1/chat/completions body events
  log "${what}: asking ${route}: $(jq -c . "${request}")"
  body=$(in_triton -sS --max-time 300 -w '\n%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @- "${route}" <"${request}") || die "${what}: POST ${route} failed"
  [ "$(tail -n 1 <<<"${body}")" = 200 ] || die "${what}: POST ${route} answered HTTP $(tail -n 1 <<<"${body}"): $(sed '$d' <<<"${body}")"
  body=$(sed '$d' <<<"${body}")
  if jq -e '.stream == true' "${request}" >/dev/null; then
    events=$(sed -n 's/^data: *//p' <<<"${body}")
    [ "$(tail -n 1 <<<"${events}")" = "[DONE]" ] || die "${what}: the stream did not end with data: [DONE]: ${body}"
    sed '$d' <<<"${events}" | jq -s -c 'map(.choices[0].delta.content // "") | join("")' ||
      die "${what}: the events are not chat completion chunks: ${body}"
  else
    jq -e -c '.choices[0].message.content | strings' <<<"${body}" ||
      die "${what}: the answer is not a chat completion with choices[0].message.content: ${body}"
  fi
}

# usage: validate_chat <request file>: an OpenAI stack's checks (the header above); writes validation.json.
validate_chat() {
  local request=$1 models whole streamed stop_request stop_expected stop_answer
  models=$(frontend_models)
  whole=$(ask_chat whole "${request}")
  check_answer whole "${whole}"
  jq -c '. + {stream: true}' "${request}" >"${work_dir}/validation-streamed.json"
  streamed=$(ask_chat streamed "${work_dir}/validation-streamed.json")
  check_same streamed "${streamed}" "${whole}" "the streamed deltas must join to exactly the whole answer"
  # OpenAI's stop: the answer ends just before the stop string (docs/serving.md, "Stop and bad words").
  stop_request=${work_dir}/validation-stop.json
  jq -c --arg stop "${VALIDATION_EXPECT}" '. + {stop: [$stop], stream: true}' "${request}" >"${stop_request}"
  stop_expected=$(jq -c --arg stop "${VALIDATION_EXPECT}" 'split($stop)[0]' <<<"${whole}")
  stop_answer=$(ask_chat stop "${stop_request}")
  check_same stop "${stop_answer}" "${stop_expected}" \
    "with stop [\"${VALIDATION_EXPECT}\"] the answer must end where that text begins in the whole answer"
  jq -n -c --arg model "${OPENAI_MODEL}" --argjson models "${models}" --slurpfile request "${request}" \
    --arg expect "${VALIDATION_EXPECT}" --argjson answer "${whole}" --argjson streamed "${streamed}" \
    --argjson stopAnswer "${stop_answer}" \
    '{api: "openai", endpoint: "/v1/chat/completions", model: $model, models: $models, network: "none",
      prompt: $request[0].messages[-1].content, expect: $expect, answer: $answer, streamedAnswer: $streamed,
      stop: {stopWords: [$expect], answer: $stopAnswer}}' >"${work_dir}/validation.json"
}

step_validate() {
  local deployed=${work_dir}/deployed request=${script_dir}/validation-request.json endpoint
  local whole streamed=null stop_request stop_answer stop_expected two_rows=null
  rm -rf "${deployed}" "${work_dir}/validation.json"
  mkdir -p "${deployed}"
  x unzip -q "${work_dir}/model.zip" -d "${deployed}"
  stop_triton
  trap stop_triton EXIT
  start_triton "${deployed}"
  wait_until_ready
  if [ "${API}" = openai ]; then
    validate_chat "${request}"
    stop_triton
    trap - EXIT
    return 0
  fi
  # What OCI's /predict (and /predictWithResponseStream) forward to: the ensemble's /generate, or on
  # a streaming stack tensorrt_llm_bls's /generate_stream, where a request answers once per row
  # without `stream` and piece by piece with it.
  endpoint=$(jq -r .MODEL_DEPLOY_PREDICT_ENDPOINT <<<"${CONTAINER_ENV}")

  whole=$(text_of "$(ask whole "${endpoint}" "${request}")")
  check_answer whole "${whole}"

  if [ "${STREAMING}" = true ]; then
    jq -c '. + {stream: true}' "${request}" >"${work_dir}/validation-streamed.json"
    streamed=$(text_of "$(ask streamed "${endpoint}" "${work_dir}/validation-streamed.json")")
    check_same streamed "${streamed}" "${whole}" "the streamed pieces must join to exactly the whole answer"
  fi

  # The answer ends just before the first stop string in its text (docs/serving.md, "Stop and bad
  # words"): the whole answer up to VALIDATION_EXPECT, which it holds. Streamed where the stack
  # streams, so that the pieces held back for a possible stop string are checked too.
  stop_request=${work_dir}/validation-stop.json
  jq -c --arg stop "${VALIDATION_EXPECT}" --argjson streaming "${STREAMING}" \
    '. + {stop_words: [$stop]} + (if $streaming then {stream: true} else {} end)' "${request}" >"${stop_request}"
  stop_expected=$(jq -c --arg stop "${VALIDATION_EXPECT}" 'split($stop)[0]' <<<"${whole}")
  stop_answer=$(text_of "$(ask stop "${endpoint}" "${stop_request}" "$(jq -r 'if . == "" then "may-be-empty" else "" end' <<<"${stop_expected}")")")
  check_same stop "${stop_answer}" "${stop_expected}" \
    "with stop_words [\"${VALIDATION_EXPECT}\"] the answer must end where that text begins in the whole answer"

  if [ "${STREAMING}" = true ]; then
    # Two rows: each input a two-element list, the whole request's batch (Triton's generate endpoint
    # fills a batched input's shape [-1, 1] from the list's length, server v2.57.0
    # src/http_server.cc:3547-3577, and every input of one request must have the same batch size,
    # core r25.04 src/infer_request.cc:1062-1069). Without stop_words, whose [-1] dims would
    # take two phrases as one row's.
    jq -c 'with_entries(.value = [.value, .value]) + {stream: [true, true]}' "${request}" \
      >"${work_dir}/validation-two-rows.json"
    two_rows=$(check_rows two-rows "$(ask two-rows "${endpoint}" "${work_dir}/validation-two-rows.json")")
  fi

  jq -n -c --arg endpoint "${endpoint}" --slurpfile request "${request}" --arg expect "${VALIDATION_EXPECT}" \
    --argjson answer "${whole}" --argjson streamed "${streamed}" --argjson stopAnswer "${stop_answer}" \
    --argjson twoRows "${two_rows}" \
    '{endpoint: $endpoint, network: "none", prompt: $request[0].text_input, expect: $expect, answer: $answer}
      + (if $streamed == null then {} else {streamedAnswer: $streamed} end)
      + {stop: {stopWords: [$expect], answer: $stopAnswer}}
      + (if $twoRows == null then {} else {twoRows: $twoRows} end)' >"${work_dir}/validation.json"
  stop_triton
  trap - EXIT
}
