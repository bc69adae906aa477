// Small text helpers shared by the packages.

/** `s` with every regular-expression metacharacter escaped (matches `s` literally). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
