import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { loadRuntimeConfig } from "./config/runtimeConfig";
import { applyTheme, initialTheme } from "./ui/theme";
import "./styles.css";

applyTheme(initialTheme());
const root = createRoot(document.getElementById("root")!);

loadRuntimeConfig()
  .then((config) => {
    document.title = config.title ?? "LISA";
    root.render(
      <StrictMode>
        <App config={config} />
      </StrictMode>,
    );
  })
  .catch((error: Error) => {
    root.render(
      <main className="centered">
        <div className="card" role="alert">
          <h1>LISA cannot start</h1>
          <p>The runtime configuration could not be read: {error.message}</p>
        </div>
      </main>,
    );
  });
