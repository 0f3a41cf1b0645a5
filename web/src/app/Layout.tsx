import { useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { newSessionId } from "../chat/ids";
import { initialTheme, saveTheme, type Theme } from "../ui/theme";
import { useServices } from "./services";

export function Layout() {
  const { config, user, logout } = useServices();
  const navigate = useNavigate();
  const [theme, setTheme] = useState<Theme>(initialTheme);

  function toggleTheme() {
    const next = theme === "dark" ? "light" : "dark";
    saveTheme(next);
    setTheme(next);
  }

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">{config.title ?? "LISA"}</span>
        <nav aria-label="Main">
          <NavLink to="/chat">Chat</NavLink>
          <NavLink to="/documents">Documents</NavLink>
          {user.isAdmin ? (
            <>
              <NavLink to="/admin/models">Models</NavLink>
              <NavLink to="/admin/tokens">API tokens</NavLink>
            </>
          ) : null}
        </nav>
        <div className="topbar-actions">
          <button type="button" className="primary" onClick={() => void navigate(`/chat/${newSessionId()}`)}>
            New chat
          </button>
          <button
            type="button"
            className="icon"
            onClick={toggleTheme}
            aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
            title={theme === "dark" ? "Light theme" : "Dark theme"}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
          <span className="user-name" title={user.groups.join(", ")} data-testid="username">
            {user.username}
          </span>
          <button type="button" onClick={logout}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="content">
        <Outlet />
      </main>
    </div>
  );
}
