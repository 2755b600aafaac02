/** A metav1.LabelSelector, as webhook configurations and workloads carry it. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * Whether LABELS satisfy SELECTOR, with Kubernetes' semantics (apimachinery labels.Selector):
 * every matchLabels pair and every expression must hold; an absent or empty selector matches
 * everything; NotIn and DoesNotExist hold for a missing key.
 */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, key);
    const ok =
      operator === "In"
        ? present && values.includes(labels[key]!)
        : operator === "NotIn"
          ? !present || !values.includes(labels[key]!)
          : operator === "Exists"
            ? present
            : operator === "DoesNotExist"
              ? !present
              : false;
    if (!ok) return false;
  }
  return true;
}

/** The selector in the `labelSelector` query syntax of a LIST. */
export function selectorQuery(selector: LabelSelector): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === "In") terms.push(`${key} in (${values.join(",")})`);
    else if (operator === "NotIn") terms.push(`${key} notin (${values.join(",")})`);
    else if (operator === "Exists") terms.push(key);
    else if (operator === "DoesNotExist") terms.push(`!${key}`);
  }
  return terms.join(",");
}
