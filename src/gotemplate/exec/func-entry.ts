// A callable as exec sees it: its Go signature and a JS implementation that
// receives Go-typed values (already checked) and throws to return a Go error.

export interface FuncEntry {
  readonly name: string;
  /** Fixed parameter types ("any", "int", "string", reflect.Value for some builtins, ...). */
  readonly params: readonly string[];
  /** Element type of the variadic parameter, or null. */
  readonly variadic: string | null;
  /** Is this one of Go's builtins (and/or are special-cased only then)? */
  readonly builtin: boolean;
  /** Calls the function; throws (FuncError or any Error) for Go's error result. */
  readonly call: (args: unknown[]) => unknown;
}
