{{- define "gitops-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "gitops-bot.fullname" -}}
{{- if .Values.fullnameOverride -}}{{ .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else -}}
{{- $name := include "gitops-bot.name" . -}}
{{- if contains $name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}
{{- end -}}
{{- define "gitops-bot.labels" -}}
app.kubernetes.io/name: {{ include "gitops-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "gitops-bot.selector" -}}
app.kubernetes.io/name: {{ include "gitops-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "gitops-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "gitops-bot.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}
{{- define "gitops-bot.image" -}}
{{- if .Values.image.digest -}}{{ printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else -}}{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}{{- end -}}
{{- end -}}
{{- /* The Secret whose keys become environment variables (existingSecret, or the old secretEnv). */ -}}
{{- define "gitops-bot.secretName" -}}
{{- default .Values.secretEnv .Values.existingSecret -}}
{{- end -}}
{{- /* Namespace of the bot's state (sync record, inventory, Lease, approvals, conversations). */ -}}
{{- define "gitops-bot.stateNamespace" -}}
{{- default .Release.Namespace (dig "sync" "namespace" "" .Values.config) -}}
{{- end -}}
{{- /* The namespaces of namespaced RBAC mode, as a JSON list. */ -}}
{{- define "gitops-bot.rbacNamespaces" -}}
{{- if .Values.rbac.namespaces -}}{{ toJson (uniq .Values.rbac.namespaces) }}{{- else -}}{{ toJson (list .Release.Namespace) }}{{- end -}}
{{- end -}}
{{- /* The rules the sync reconciler gets: everything, or rbac.rules. */ -}}
{{- define "gitops-bot.syncRules" -}}
{{- if .Values.rbac.clusterAdmin -}}
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
{{- else if .Values.rbac.rules -}}
{{ toYaml .Values.rbac.rules }}
{{- end -}}
{{- end -}}
{{- /* What the HelmRelease reconciler needs beyond the sync rules. */ -}}
{{- define "gitops-bot.helmRules" -}}
# helm's release storage: one Secret per revision (sh.helm.release.v1.<release>.v<N>).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
# HelmRelease objects (helm.fluxcd.io/v1 and helm.toolkit.fluxcd.io/v2) and their status.
- apiGroups: ["helm.fluxcd.io", "helm.toolkit.fluxcd.io"]
  resources: ["helmreleases"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["helm.fluxcd.io", "helm.toolkit.fluxcd.io"]
  resources: ["helmreleases/status"]
  verbs: ["get", "update", "patch"]
# Events helm and the bot record on the objects they change.
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
