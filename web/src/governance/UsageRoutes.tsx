/** The usage pages, loaded when first opened: their charts (Recharts) stay out of the bundle every page loads. */
import { lazy, Suspense } from "react";

const Usage = lazy(() => import("./UsagePage").then((m) => ({ default: m.UsagePage })));
const MyUsage = lazy(() => import("./UsagePage").then((m) => ({ default: m.MyUsagePage })));

function Loading() {
  return (
    <section className="page" aria-busy="true">
      Loading…
    </section>
  );
}

export function UsageRoute() {
  return (
    <Suspense fallback={<Loading />}>
      <Usage />
    </Suspense>
  );
}

export function MyUsageRoute() {
  return (
    <Suspense fallback={<Loading />}>
      <MyUsage />
    </Suspense>
  );
}
