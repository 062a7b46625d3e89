# shellcheck shell=bash
# Step model-config (build mode): the model's config.json alone, fetched from the Hub before the
# image pull and the weight download, and compared with what the stack declares (HF_CONFIG_EXPECT,
# written by components/build/model-config-check.ts `configExpectations`). A model the family's
# converter does not build, or whose sizes are not the declared ones, fails here, in the first
# minutes, instead of in the converter once the image and the weights are on the GPU instance.

readonly hub_endpoint=https://huggingface.co

# usage: hub_config_problems <expectations JSON> <config.json file>
# One line per field config.json does not meet: `<stack key>: <field> = <found> (the stack says
# <allowed>)`. The rule of configMismatches and describeMismatch in model-config-check.ts, which
# `check --online` applies: a field's value is the first of its keys that is present and not null,
# a list's first element; it meets the expectation when it is a string or a number among the
# allowed values, and reads as absent otherwise.
hub_config_problems() {
  jq -r --argjson expect "$1" '
    (if type == "object" then . else {} end) as $config
    | $expect[]
    | . as $e
    | ([$e.keys[] | $config[.] | select(. != null)] | first) as $raw
    | (if ($raw | type) == "array" then $raw[0] else $raw end) as $value
    | (if ($value | type) == "string" or ($value | type) == "number" then $value else null end) as $found
    | select($found == null or ([$e.allowed[] | select(. == $found)] | length) == 0)
    | "\($e.stackKey): \($e.field) = \(if $found == null then "absent" else ($found | tojson) end)"
      + " (the stack says \($e.allowed | map(tojson) | join(" or ")))"
  ' "$2"
}

# The file's URL as huggingface_hub v0.30.2 builds it (file_download.py:256-257, hf_hub_url):
# <endpoint>/<repo id>/resolve/<revision>/config.json, the revision quoted with no safe character.
# HF_REVISION holds letters, digits and . _ - / only (build-env.sh), so `/` is the one to quote.
hub_config_url() {
  echo "${hub_endpoint}/${HF_MODEL_ID}/resolve/${HF_REVISION//\//%2F}/config.json"
}

# curl's configuration on its stdin (`-K -`, curl(1) "--config"): the token as the header
# huggingface_hub sends (`authorization: Bearer <token>`, v0.30.2 utils/_headers.py:137), so
# that it never is on a command line; nothing without one.
hub_auth_config() {
  if [ -n "${hf_token}" ]; then
    local escaped=${hf_token//\\/\\\\}
    printf 'header = "Authorization: Bearer %s"\n' "${escaped//\"/\\\"}"
  fi
}

# usage: hub_refusal <HTTP code> <response headers file>
# What a refusal means, from the X-Error-Code header the Hub sends with it (the codes huggingface_hub
# v0.30.2 tells apart, utils/_http.py:411-448); a 401 without one is a repository the token cannot
# see, which the Hub does not tell apart from a missing one (the same lines).
hub_refusal() {
  local code=$1 error
  error=$(sed -n 's/^x-error-code: *//Ip' "$2" | tr -d '\r' | tail -n 1)
  case "${error:-${code}}" in
    GatedRepo)
      echo "${HF_MODEL_ID} is gated and the Hub refused $([ -n "${hf_token}" ] && echo "the token" || echo "a request without a token") (HTTP ${code}): set hfToken to a token of an account that accepted the licence on the model card"
      ;;
    RevisionNotFound) echo "model.revision ${HF_REVISION} is not a revision of ${HF_MODEL_ID} (HTTP ${code}): pin one of its commits" ;;
    EntryNotFound) echo "${HF_MODEL_ID} at ${HF_REVISION} has no config.json (HTTP ${code}): the converters need a transformers model repository" ;;
    RepoNotFound | 401)
      echo "the Hub shows no repository ${HF_MODEL_ID} to $([ -n "${hf_token}" ] && echo "this token" || echo "a request without a token") (HTTP ${code}${error:+, ${error}}): check model.huggingFaceId; a private or gated one needs hfToken"
      ;;
    *) echo "the Hub answered HTTP ${code}${error:+ (${error})} for $(hub_config_url)" ;;
  esac
}

step_model_config() {
  local url config=${work_dir}/hub-config.json headers=${work_dir}/hub-config.headers code problems
  url=$(hub_config_url)
  rm -f "${config}" "${headers}"
  log "config.json of ${HF_MODEL_ID} at ${HF_REVISION}, $([ -n "${hf_token}" ] && echo "with" || echo "without") the Hugging Face token"
  # --retry: timeouts and HTTP 408, 429 and 5xx are tried again (curl(1) "--retry"); -L follows a
  # renamed repository's redirect.
  code=$(hub_auth_config | x curl -sS -L --retry 3 --max-time 60 -K - -D "${headers}" -o "${config}" \
    -w '%{http_code}' "${url}") || die "cannot fetch ${url}: the build host has no way to the Hub, which the weight download needs too"
  [ "${code}" = 200 ] || die "$(hub_refusal "${code}" "${headers}")"
  jq -e 'type == "object"' "${config}" >/dev/null 2>&1 || die "${url} is not a JSON object: $(head -c 300 "${config}")"
  problems=$(hub_config_problems "${HF_CONFIG_EXPECT}" "${config}")
  if [ -n "${problems}" ]; then
    die "${HF_MODEL_ID} at ${HF_REVISION} is not the model the stack declares, so its converter would fail or build another model; config.json against the stack:
${problems}
fix the keys named (model.architecture from this config.json, or another model.huggingFaceId or model.revision); nothing was pulled or downloaded"
  fi
  log "config.json matches the stack: $(jq -c --argjson expect "${HF_CONFIG_EXPECT}" \
    '. as $c | [$expect[] | {(.field): ([.keys[] | $c[.] | select(. != null)] | first)}] | add' "${config}")"
}
