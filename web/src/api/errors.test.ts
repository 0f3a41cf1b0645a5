import { describe, expect, it } from "vitest";
import { ApiError, describeError, errorFromBody } from "./errors";

describe("errorFromBody", () => {
  it("takes the message of OpenAI's error object", () => {
    const e = errorFromBody(
      404,
      JSON.stringify({
        error: {
          message: "The model `x` does not exist",
          type: "invalid_request_error",
          param: null,
          code: "model_not_found",
        },
      }),
    );
    expect([e.message, e.status, e.code]).toEqual(["The model `x` does not exist", 404, "model_not_found"]);
  });

  it("takes LISA's error and message", () => {
    const e = errorFromBody(
      400,
      JSON.stringify({ error: "ModelAlreadyExistsError", message: "A model with ID m already exists." }),
    );
    expect([e.message, e.type]).toEqual(["A model with ID m already exists.", "ModelAlreadyExistsError"]);
  });

  it("keeps a validation error's list of problems", () => {
    const e = errorFromBody(
      422,
      JSON.stringify({ error: "ValidationError", message: "2 problems", problems: ["modelId: bad", "streaming: no"] }),
    );
    expect(e.problems).toEqual(["modelId: bad", "streaming: no"]);
  });

  it("turns a framework's detail list into field messages", () => {
    const e = errorFromBody(422, JSON.stringify({ detail: [{ loc: ["body", "modelId"], msg: "Field required" }] }));
    expect(e.message).toBe("modelId: Field required");
  });

  it("falls back to the status when the body is HTML", () => {
    expect(errorFromBody(502, "<html>bad gateway</html>").message).toBe(
      "The model's server could not be reached (HTTP 502)",
    );
  });

  it("uses short plain text as is", () => {
    expect(errorFromBody(400, "nope").message).toBe("nope");
  });
});

describe("describeError", () => {
  it("says Stopped for an abort", () => {
    expect(describeError(new DOMException("x", "AbortError"))).toBe("Stopped.");
  });

  it("names a network failure", () => {
    expect(describeError(new TypeError("Failed to fetch"))).toBe("Could not reach the server (Failed to fetch).");
  });

  it("gives an ApiError's message", () => {
    expect(describeError(new ApiError("stand-in fault 500", 500))).toBe("stand-in fault 500");
  });
});
