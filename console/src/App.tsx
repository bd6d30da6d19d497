import { useEffect, useMemo, useRef, useState } from 'react';
import { apiClient } from './api/client';
import { completeSignIn, currentSession, type Session, signIn, signOut } from './auth';
import { type ConsoleConfig, loadConfig } from './config';
import { OperatorContext } from './context';
import { ApprovalsPage } from './pages/Approvals';
import { AuditPage } from './pages/Audit';
import { BulkGrantsPage } from './pages/BulkGrants';
import { LeaderboardsPage } from './pages/Leaderboards';
import { PaymentsPage } from './pages/Payments';
import { PipelinePage } from './pages/Pipeline';
import { PlayersPage } from './pages/Players';
import { RecoveryPage } from './pages/Recovery';
import { hrefOf, PAGES, type Route, useRoute } from './router';

type Boot =
  | { state: 'starting' }
  | { state: 'failed'; message: string }
  | { state: 'ready'; config: ConsoleConfig; session: Session | undefined };

export function App() {
  const [boot, setBoot] = useState<Boot>({ state: 'starting' });
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    (async () => {
      const config = await loadConfig();
      if (window.location.pathname.endsWith('/callback')) {
        const returnTo = await completeSignIn(config, window.location.search);
        window.history.replaceState(null, '', `${import.meta.env.BASE_URL}${returnTo || '#/players'}`);
      }
      setBoot({ state: 'ready', config, session: currentSession() });
    })().catch((error: unknown) => setBoot({ state: 'failed', message: String(error) }));
  }, []);

  if (boot.state === 'starting') return <p aria-live="polite">Starting the console…</p>;
  if (boot.state === 'failed')
    return (
      <main className="signin">
        <h1>Gamekeep console</h1>
        <p role="alert">{boot.message}</p>
        <a href={import.meta.env.BASE_URL}>Start again</a>
      </main>
    );
  if (!boot.session) return <SignIn config={boot.config} />;
  return (
    <Console
      config={boot.config}
      session={boot.session}
      onSignOut={() => {
        signOut();
        setBoot({ ...boot, session: undefined });
      }}
    />
  );
}

function SignIn({ config }: { config: ConsoleConfig }) {
  const [failure, setFailure] = useState<string>();
  return (
    <main className="signin">
      <h1>Gamekeep console</h1>
      <p>Operators sign in with their organisation's account ({new URL(config.issuer).host}).</p>
      <button
        type="button"
        onClick={() => signIn(config, window.location.hash).catch((e: unknown) => setFailure(String(e)))}
      >
        Sign in
      </button>
      {failure ? <p role="alert">{failure}</p> : null}
    </main>
  );
}

function Console({ config, session, onSignOut }: { config: ConsoleConfig; session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const api = useMemo(() => apiClient(config.apiBase, () => currentSession()?.accessToken), [config.apiBase]);
  const title = PAGES.find((p) => p.page === route.page)?.title ?? 'Players';
  useEffect(() => {
    document.title = `${title} · Gamekeep console`;
  }, [title]);
  return (
    <OperatorContext.Provider value={{ api, session }}>
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Gamekeep</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.page}>
                <a href={hrefOf({ page: p.page } as Route)} aria-current={p.page === route.page ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            Signed in as <strong>{session.username}</strong> ({session.roles.join(', ') || 'no role'})
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="content" tabIndex={-1}>
        <Page route={route} />
      </main>
    </OperatorContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'players':
      return <PlayersPage {...(route.playerId ? { playerId: route.playerId } : {})} />;
    case 'payments':
      return <PaymentsPage />;
    case 'bulk-grants':
      return <BulkGrantsPage />;
    case 'approvals':
      return <ApprovalsPage />;
    case 'pipeline':
      return <PipelinePage />;
    case 'leaderboards':
      return <LeaderboardsPage />;
    case 'recovery':
      return <RecoveryPage />;
    case 'audit':
      return <AuditPage />;
  }
}
