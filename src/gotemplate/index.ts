// Go text/template for JavaScript: the public API.
export { ExecError, ParseError, TemplateError } from "./errors.js";
export { type MissingKeyOption, Template, type TemplateOptions } from "./template.js";
export * from "./value.js";
