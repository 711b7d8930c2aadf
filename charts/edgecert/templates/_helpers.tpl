{{/* Labels on every object of the chart. */}}
{{- define "edgecert.labels" -}}
app.kubernetes.io/name: edgecert
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* What selects the controller's pods. */}}
{{- define "edgecert.selectorLabels" -}}
app.kubernetes.io/name: edgecert
app.kubernetes.io/component: controller
{{- end -}}

{{/* The image, by digest when one is given. */}}
{{- define "edgecert.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
