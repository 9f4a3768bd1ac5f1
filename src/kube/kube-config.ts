/**
 * Builds the client-node `KubeConfig` from the daemon configuration: a kubeconfig file when one is
 * given, the pod's service account otherwise. The only place that chooses how we authenticate.
 */
import { KubeConfig } from '@kubernetes/client-node'

export function loadKubeConfig(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig()
  if (kubeconfigPath === '') kc.loadFromCluster()
  else kc.loadFromFile(kubeconfigPath)
  return kc
}
