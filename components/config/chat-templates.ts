/**
 * How each catalogued model turns a conversation into a prompt, for a stack whose deployment serves
 * the OpenAI API (`deployment.api: openai`): the frontend renders every chat request with the
 * tokenizer's `apply_chat_template` (server v2.57.0 python/openai/openai_frontend/
 * engine/triton_engine.py:120-129), which reads the template from the tokenizer's
 * tokenizer_config.json. As data, each with its source.
 */

export type ChatFormat =
  /** The model's tokenizer_config.json carries its own template; the artifact keeps it as it is. */
  | { readonly kind: "own"; readonly source: string }
  /** The model ships none; this template, from the format its card documents, is written in. */
  | { readonly kind: "written"; readonly template: string; readonly source: string }
  /** A base model: no conversation format exists to write. */
  | { readonly kind: "none"; readonly why: string };

/**
 * Falcon-7B/40B-Instruct: the format of their model cards, the only one TII documents. "How to Get
 * Started with the Model" (huggingface.co/tiiuae/falcon-7b-instruct and /falcon-40b-instruct,
 * README.md) prompts with a free-text description of the assistant, then one line per turn,
 * `<speaker>: <text>`, and ends with the assistant's name and a colon for the model to continue:
 * "Girafatron is obsessed with giraffes, ...\nDaniel: Hello, Girafatron!\nGirafatron:". The speakers
 * here are "User" and "Assistant" (the card's are a story's characters); a system message is the
 * description line. Any other role is refused, as the models' own templates of Llama 3.1 and Mistral
 * refuse what they do not know. One line of Jinja: its string literals' `\n` are newlines (Jinja
 * reads escapes in string literals), and `{%-`/`-%}` drop the whitespace between tags, so the
 * prompt is exactly the card's.
 */
const FALCON_INSTRUCT_TEMPLATE = [
  "{#- Falcon-Instruct: the conversation format of the model card (tiiuae/falcon-7b-instruct README.md,",
  ' "How to Get Started with the Model"), written by triton-trtllm-oci. -#}',
  "{%- for message in messages -%}",
  "{%- if message['role'] == 'system' -%}{{ message['content'] + '\\n' }}",
  "{%- elif message['role'] == 'user' -%}{{ 'User: ' + message['content'] + '\\n' }}",
  "{%- elif message['role'] == 'assistant' -%}{{ 'Assistant: ' + message['content'] + '\\n' }}",
  "{%- else -%}{{ raise_exception('Falcon-Instruct conversations hold system, user and assistant messages only, not ' + message['role']) }}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{ 'Assistant:' }}{%- endif -%}",
].join("\n");

const FALCON_CARD =
  "the model card's format (huggingface.co/tiiuae/falcon-7b-instruct, README.md, 'How to Get Started with the Model')";

/**
 * By Hugging Face id. Llama 3.1 and Mistral Instruct ship `chat_template` in tokenizer_config.json;
 * the base Falcons are plain language models.
 */
export const CHAT_FORMATS: Readonly<Record<string, ChatFormat>> = {
  "tiiuae/falcon-7b-instruct": { kind: "written", template: FALCON_INSTRUCT_TEMPLATE, source: FALCON_CARD },
  "tiiuae/falcon-40b-instruct": {
    kind: "written",
    template: FALCON_INSTRUCT_TEMPLATE,
    source: FALCON_CARD.replace("falcon-7b-instruct", "falcon-40b-instruct"),
  },
  "meta-llama/Llama-3.1-8B-Instruct": {
    kind: "own",
    source: "chat_template of huggingface.co/meta-llama/Llama-3.1-8B-Instruct tokenizer_config.json",
  },
  "mistralai/Mistral-7B-Instruct-v0.2": {
    kind: "own",
    source: "chat_template of huggingface.co/mistralai/Mistral-7B-Instruct-v0.2 tokenizer_config.json",
  },
  "tiiuae/falcon-7b": {
    kind: "none",
    why: "a base model, trained to continue text: it has no conversation format (its card, huggingface.co/tiiuae/falcon-7b, points to falcon-7b-instruct for chat)",
  },
  "tiiuae/falcon-40b": {
    kind: "none",
    why: "a base model, trained to continue text: it has no conversation format (its card, huggingface.co/tiiuae/falcon-40b, points to falcon-40b-instruct for chat)",
  },
};

/** The model's chat format, or undefined for a model outside the catalogue (its own file decides). */
export function chatFormat(huggingFaceId: string): ChatFormat | undefined {
  return Object.hasOwn(CHAT_FORMATS, huggingFaceId) ? CHAT_FORMATS[huggingFaceId] : undefined;
}

/**
 * The tokenizer_config.json an OpenAI stack's artifact carries, from the model snapshot's
 * (`original`, undefined when the snapshot has none): with `template` as its `chat_template` where it
 * has none, as it is where it has one (the model's own template wins). It must end up with one: the
 * frontend renders every chat prompt with it. Throws, naming the file, otherwise.
 */
export function openaiTokenizerConfig(
  original: string | undefined,
  template: string | undefined,
  file: string,
): string {
  if (original === undefined) {
    throw new Error(
      `${file} does not exist: deployment.api openai renders chat prompts with the chat template it holds; point model.localDir at a complete snapshot`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(original);
  } catch (error) {
    throw new Error(`${file} is not JSON (${(error as Error).message}): the model snapshot is damaged`, {
      cause: error,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file} is not a JSON object: the model snapshot is damaged`);
  }
  // A string, or a list of named templates (both are Hugging Face's forms): the model's own.
  const own = (parsed as Record<string, unknown>).chat_template;
  if (own !== undefined && own !== null) return original;
  if (template === undefined) {
    throw new Error(
      `${file} has no chat_template and this stack has none to write for the model: deployment.api openai renders chat prompts with it. Fix: serve a model that has one (components/config/chat-templates.ts lists them), or set deployment.api triton`,
    );
  }
  return `${JSON.stringify({ ...parsed, chat_template: template }, null, 2)}\n`;
}
