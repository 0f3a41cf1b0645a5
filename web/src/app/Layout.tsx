import { useEffect, useState } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { newSessionId } from "../chat/ids";
import { AccountMenu } from "../governance/AccountMenu";
import { initialTheme, saveTheme, type Theme } from "../ui/theme";
import { useConfiguration, usePreferences } from "./chatQueries";
import { useServices } from "./services";

function SystemBanner() {
  const { configuration } = useConfiguration();
  const banner = configuration?.systemBanner;
  if (!banner?.isEnabled || !banner.text) return null;
  return (
    <div
      className="system-banner"
      role="status"
      style={{ color: banner.textColor, background: banner.backgroundColor }}
    >
      {banner.text}
    </div>
  );
}

export function Layout() {
  const { config, user, logout } = useServices();
  const navigate = useNavigate();
  const configuration = useConfiguration();
  const { preferences, save: savePreferences } = usePreferences();
  const [localTheme, setLocalTheme] = useState<Theme>(initialTheme);
  // The theme follows the user across browsers (their preferences); this browser's choice until they load.
  const saved = preferences?.theme;
  const theme: Theme = saved === "light" || saved === "dark" ? saved : localTheme;
  useEffect(() => saveTheme(theme), [theme]);

  function toggleTheme() {
    const next = theme === "dark" ? "light" : "dark";
    saveTheme(next);
    setLocalTheme(next);
    savePreferences({ theme: next });
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
          {configuration.enabled("enableModelComparisonUtility") ? <NavLink to="/compare">Compare</NavLink> : null}
          <NavLink to="/documents">Documents</NavLink>
          {configuration.enabled("showPromptTemplateLibrary") ? <NavLink to="/templates">Templates</NavLink> : null}
          {configuration.enabled("mcpConnections") || user.isAdmin ? <NavLink to="/mcp">Tools</NavLink> : null}
          {user.isAdmin ? (
            <>
              <NavLink to="/admin/usage">Usage</NavLink>
              <NavLink to="/admin/audit">Audit</NavLink>
              <NavLink to="/admin/models">Models</NavLink>
              <NavLink to="/admin/repositories">Repositories</NavLink>
              <NavLink to="/admin/tokens">API tokens</NavLink>
              <NavLink to="/admin/configuration">Configuration</NavLink>
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
          <AccountMenu />
          <button type="button" onClick={logout}>
            Sign out
          </button>
        </div>
      </header>
      <SystemBanner />
      <main id="main" className="content">
        <Outlet />
      </main>
    </div>
  );
}
