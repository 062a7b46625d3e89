import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // .cache holds what previews stage (packed zips, the build host's bundled packer), reports what evaluate writes.
  { ignores: ["node_modules/**", "**/*.py", ".cache/**", "reports/**", "out/**"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // CommonJS files (the program's require hook) load their modules with require().
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", module: "writable" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
