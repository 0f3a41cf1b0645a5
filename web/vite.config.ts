import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    sourcemap: false,
    rollupOptions: {
      output: {
        // Markdown + highlighting is the heaviest part; keep it in its own cacheable chunk.
        manualChunks(id: string) {
          if (
            /node_modules\/(react-markdown|remark-|rehype-|micromark|mdast|hast|unified|lowlight|highlight\.js)/.test(
              id,
            )
          )
            return "markdown";
          if (/node_modules\/(react|react-dom|react-router|scheduler)\//.test(id)) return "react";
          return undefined;
        },
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
