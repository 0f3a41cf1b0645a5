import { describe, expect, it } from "vitest";
import {
  auditQuery,
  currentToken,
  detailLines,
  filterProblems,
  FIRST_PAGE,
  nextPage,
  NO_FILTERS,
  previousPage,
} from "./auditFilters";

describe("auditQuery", () => {
  it("sends only the filters given, trimmed", () => {
    expect(auditQuery({ ...NO_FILTERS, actor: "  ann ", outcome: "denied" }, null, 10)).toEqual({
      pageSize: 10,
      actor: "ann",
      outcome: "denied",
    });
  });

  it("sends local times as UTC and the page's token", () => {
    const from = "2025-03-10T08:30";
    const query = auditQuery({ ...NO_FILTERS, action: "token", from }, "abc");
    expect(query).toMatchObject({ action: "token", nextToken: "abc", start: new Date(from).toISOString() });
    expect(query.end).toBeUndefined();
  });
});

describe("filterProblems", () => {
  it("accepts no filters and an ordered range", () => {
    expect(filterProblems(NO_FILTERS)).toEqual([]);
    expect(filterProblems({ ...NO_FILTERS, from: "2025-03-01T00:00", to: "2025-03-02T00:00" })).toEqual([]);
  });

  it("names a reversed, too long or unreadable range", () => {
    expect(filterProblems({ ...NO_FILTERS, from: "2025-03-02T00:00", to: "2025-03-01T00:00" })).toEqual([
      "To is before From.",
    ]);
    expect(filterProblems({ ...NO_FILTERS, from: "2023-01-01T00:00", to: "2025-03-01T00:00" })).toEqual([
      "The range may span at most 366 days.",
    ]);
    expect(filterProblems({ ...NO_FILTERS, from: "soon" })).toEqual(["From is not a date and time."]);
  });
});

describe("paging", () => {
  it("goes forward with the next token and back to where it was", () => {
    const second = nextPage(FIRST_PAGE, "t1");
    const third = nextPage(second, "t2");
    expect([currentToken(FIRST_PAGE), currentToken(second), currentToken(third)]).toEqual([null, "t1", "t2"]);
    expect(previousPage(third)).toEqual(second);
    expect(previousPage(FIRST_PAGE)).toBe(FIRST_PAGE);
  });
});

describe("detailLines", () => {
  it("shows each detail as key: value", () => {
    expect(detailLines({ name: "laptop", groups: ["a", "b"], hosted: false, gone: null })).toEqual([
      "name: laptop",
      "groups: a, b",
      "hosted: false",
      "gone: —",
    ]);
    expect(detailLines(undefined)).toEqual([]);
  });
});
