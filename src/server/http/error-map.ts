// Every failure becomes an HTTP status and a message that says what was
// wrong; store outages become 503 so agents retry instead of giving up.
import { DeploymentError } from "../deploy/model.js";
import { HttpError } from "./errors.js";

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof DeploymentError) return new HttpError(400, err.message);
  const e = err as Error;
  switch (e?.name) {
    case "StoreUnavailableError":
      return new HttpError(503, `the pod store is unavailable: ${e.message}; retry later`, {
        "retry-after": "1",
      });
    case "PodNotFoundError":
      return new HttpError(404, e.message);
    case "MergeConflictError":
      return new HttpError(503, e.message, { "retry-after": "1" });
    case "TimeoutError":
      return new HttpError(503, `the pod store did not answer in time: ${e.message}; retry later`, {
        "retry-after": "1",
      });
  }
  return new HttpError(500, "internal error (see the server log)");
}
