// OWNER: auth. Placeholder until the auth work lands; the export is the contract.

export function AuthScreen(_p: { mode: 'login' | 'register' | 'guest' }) {
  return <section class="placeholder">AuthScreen</section>;
}
