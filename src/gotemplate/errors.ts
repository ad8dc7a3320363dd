// Typed errors of the template engine. Messages follow Go's text/template
// format exactly, so users see the same text (and location) as with Go:
//   parse: template: NAME:LINE: MESSAGE
//   exec:  template: NAME:LINE:COL: executing "NAME" at <EXPR>: MESSAGE

/** Base class of every error the engine throws on bad templates or data. */
export class TemplateError extends Error {
  override name = "TemplateError";
  constructor(
    message: string,
    /** Name of the template the error belongs to. */
    readonly templateName: string,
    /** 1-based line, 0 when unknown. */
    readonly line: number,
  ) {
    super(message);
  }
}

/** The template text is malformed (Go's Parse error). */
export class ParseError extends TemplateError {
  override name = "ParseError";
}

/** Executing a template failed (Go's ExecError and errors returned by Execute). */
export class ExecError extends TemplateError {
  override name = "ExecError";
  constructor(
    message: string,
    templateName: string,
    line: number,
    /** 0-based byte column as Go counts it, -1 when unknown. */
    readonly col: number,
  ) {
    super(message, templateName, line);
  }
}
