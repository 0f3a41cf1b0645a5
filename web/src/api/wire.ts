/**
 * Reading the api's wire types out of schema.d.ts (generated from the api's OpenAPI by `make api-types`).
 *
 * Some routes do not declare their answer or body yet (the document says "an object"). For those a stand-in shape,
 * written next to the client call, is used through `Declared`: once the api declares the route and the file is
 * regenerated, the generated type takes over by itself, and the compiler points at every screen it disagrees with.
 */
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

type Method = "get" | "put" | "post" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;

/** The JSON a route answers with on success (200 or 201). */
export type AnswerOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: infer R } ? JsonOf<R[keyof R & (200 | 201)]> : never;

/** The JSON body a route takes (never: it declares none). */
export type BodyOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: infer B } ? JsonOf<NonNullable<B>> : never;

/** An object the document says nothing about: any keys, unknown values. */
type Undeclared<T> = unknown extends T ? true : string extends keyof T ? true : false;

/** The generated type `T` when the api declares it, else the stand-in (also for a list of undeclared objects). */
export type Declared<T, StandIn> = [T] extends [never]
  ? StandIn
  : T extends readonly (infer E)[]
    ? Undeclared<E> extends true
      ? StandIn
      : T
    : Undeclared<T> extends true
      ? StandIn
      : T;
