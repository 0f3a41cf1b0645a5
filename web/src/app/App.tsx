import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { QueryClientProvider } from "@tanstack/react-query";
import { ChatApiClient } from "../api/chatApi";
import { LisaApiClient, ServeClient } from "../api/clients";
import { HttpClient } from "../api/http";
import { ConfigurationPage } from "../admin/ConfigurationPage";
import { ModelsPage } from "../admin/ModelsPage";
import { TokensPage } from "../admin/TokensPage";
import { createAuthenticator } from "../auth/authenticator";
import type { AuthUser } from "../auth/claims";
import { LoginPage } from "../auth/LoginPage";
import { ChatPage, NewChatRedirect } from "../chat/ChatPage";
import type { RuntimeConfig } from "../config/runtimeConfig";
import { ComparePage } from "../compare/ComparePage";
import { McpServersPage } from "../mcp/McpServersPage";
import { AuditPage } from "../governance/AuditPage";
import { MyTokensPage } from "../governance/MyTokensPage";
import { MyUsageRoute, UsageRoute } from "../governance/UsageRoutes";
import { DocumentsPage } from "../rag/DocumentsPage";
import { TemplatesPage } from "../templates/TemplatesPage";
import { RepositoriesPage } from "../rag/RepositoriesPage";
import { Layout } from "./Layout";
import { createQueryClient } from "./queries";
import { ServicesContext, useServices, type AppServices } from "./services";

export function App({ config }: { config: RuntimeConfig }) {
  const authenticator = useMemo(() => createAuthenticator(config.auth), [config]);
  const [user, setUser] = useState<AuthUser | null>(null);
  const [restoring, setRestoring] = useState(true);
  const [restoreError, setRestoreError] = useState<string | null>(null);

  useEffect(() => {
    authenticator
      .restore()
      .then(setUser)
      .catch((error: Error) => setRestoreError(`Sign-in did not complete: ${error.message}`))
      .finally(() => setRestoring(false));
  }, [authenticator]);

  const token = useCallback(() => authenticator.token(), [authenticator]);
  const reauthenticate = useCallback(async () => {
    const renewed = await authenticator.refresh();
    // Same person, same groups: keep the object, so the screens do not reload everything after a token refresh.
    setUser((old) =>
      renewed && old && old.sub === renewed.sub && old.groups.join() === renewed.groups.join() ? old : renewed,
    );
    return renewed !== null;
  }, [authenticator]);
  const logout = useCallback(() => {
    void authenticator.logout().finally(() => setUser(null));
  }, [authenticator]);

  const services = useMemo<AppServices | null>(() => {
    if (!user) return null;
    const apiHttp = new HttpClient(config.apiUrl, token, reauthenticate);
    return {
      config,
      user,
      token,
      logout,
      serve: new ServeClient(new HttpClient(config.serveUrl, token, reauthenticate)),
      api: new LisaApiClient(apiHttp),
      chat: new ChatApiClient(apiHttp),
    };
  }, [config, user, token, logout, reauthenticate]);

  if (restoring)
    return (
      <main className="centered" aria-busy="true">
        Loading…
      </main>
    );
  if (!services)
    return <LoginPage config={config} authenticator={authenticator} onSignedIn={setUser} initialError={restoreError} />;

  return (
    <ServicesContext.Provider value={services}>
      <SignedIn key={services.user.sub} />
    </ServicesContext.Provider>
  );
}

/** The signed-in app; its cache of server data belongs to one user (a new sign-in starts empty). */
function SignedIn() {
  const [queryClient] = useState(createQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<NewChatRedirect />} />
            <Route path="chat" element={<NewChatRedirect />} />
            <Route path="chat/:sessionId" element={<ChatPage />} />
            <Route path="documents" element={<DocumentsPage />} />
            <Route path="compare" element={<ComparePage />} />
            <Route path="templates" element={<TemplatesPage />} />
            <Route path="mcp" element={<McpServersPage />} />
            <Route
              path="admin/configuration"
              element={
                <AdminOnly>
                  <ConfigurationPage />
                </AdminOnly>
              }
            />
            <Route
              path="admin/models"
              element={
                <AdminOnly>
                  <ModelsPage />
                </AdminOnly>
              }
            />
            <Route
              path="admin/repositories"
              element={
                <AdminOnly>
                  <RepositoriesPage />
                </AdminOnly>
              }
            />
            <Route
              path="admin/tokens"
              element={
                <AdminOnly>
                  <TokensPage />
                </AdminOnly>
              }
            />
            <Route path="account/tokens" element={<MyTokensPage />} />
            <Route path="account/usage" element={<MyUsageRoute />} />
            <Route
              path="admin/usage"
              element={
                <AdminOnly>
                  <UsageRoute />
                </AdminOnly>
              }
            />
            <Route
              path="admin/audit"
              element={
                <AdminOnly>
                  <AuditPage />
                </AdminOnly>
              }
            />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}

function AdminOnly({ children }: { children: ReactNode }) {
  const { user } = useServices();
  if (!user.isAdmin) {
    return (
      <section className="page" aria-labelledby="forbidden-title">
        <h1 id="forbidden-title">Administrators only</h1>
        <p>This page is for members of the administrators group.</p>
      </section>
    );
  }
  return <>{children}</>;
}

function NotFound() {
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>There is no page here.</p>
    </section>
  );
}
