package serve

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/deen-mt/deen/spans"
	"github.com/deen-mt/deen/translate"
)

// languageNames are the languages this server knows: German in, English out.
var languageNames = map[string]string{"de": "German", "en": "English"}

// checkPair validates source and target (both present) for a de → en
// server: source de or auto, target en. The error texts are
// LibreTranslate's.
func checkPair(source, target string) error {
	if _, ok := languageNames[source]; !ok && source != "auto" {
		return errorf(http.StatusBadRequest, "%s is not supported", source)
	}
	if _, ok := languageNames[target]; !ok {
		return errorf(http.StatusBadRequest, "%s is not supported", target)
	}
	if source == "auto" {
		source = "de"
	}
	if source != "de" || target != "en" {
		return errorf(http.StatusBadRequest, "%s (%s) is not available as a target language from %s (%s)",
			languageNames[target], target, languageNames[source], source)
	}
	return nil
}

// languages returns the source and target fields, or LibreTranslate's
// "missing" error for the first one absent.
func (p *params) languages() (source, target string, err error) {
	var v [2]string
	for i, name := range []string{"source", "target"} {
		if v[i], err = p.str(name); err == nil && v[i] == "" {
			err = errorf(http.StatusBadRequest, "Invalid request: missing %s parameter", name)
		}
		if err != nil {
			return "", "", err
		}
	}
	return v[0], v[1], nil
}

// translateHandler answers POST /translate.
type translateHandler struct{ s *Server }

// translateResponse is LibreTranslate's answer; fields in its (sorted)
// order. TranslatedText is a string or, for an array q, an array.
type translateResponse struct {
	Alternatives     any `json:"alternatives,omitempty"`
	DetectedLanguage any `json:"detectedLanguage,omitempty"`
	Alignments       any `json:"alignments,omitempty"` // deen's extension, only when asked
	Sentences        any `json:"sentences,omitempty"`  // deen's extension, only when asked
	TranslatedText   any `json:"translatedText"`
}

// sentenceInfo is one sentence of the "sentences" extension: its source,
// its translation and how far to trust it (translate.Sentence.Confidence,
// and the numbers the model invented).
type sentenceInfo struct {
	Source string `json:"source"`
	// Recased is the source as the model read it when it was written all
	// in capitals or all in lower case (translate.Sentence.Recased).
	Recased     string  `json:"recased,omitempty"`
	Translation string  `json:"translation"`
	Confidence  float64 `json:"confidence"`
	Passthrough bool    `json:"passthrough,omitempty"`
	// Invented lists the numbers of the translation that its source does
	// not hold (translate.Sentence.Invented): the model made them up.
	Invented []string `json:"invented,omitempty"`
}

// sentenceInfos lists tr's sentences for the "sentences" extension.
func sentenceInfos(tr *translate.Translation) []sentenceInfo {
	out := make([]sentenceInfo, len(tr.Sentences))
	for i, s := range tr.Sentences {
		out[i] = sentenceInfo{Source: s.Source, Recased: s.Recased, Translation: s.Text, Confidence: math.Round(1000*float64(s.Confidence)) / 1000, Passthrough: s.Passthrough, Invented: s.Invented}
	}
	return out
}

func (h translateHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, p := h.s, paramsOf(ctx)
	texts, batch, err := p.texts()
	if err != nil {
		return err
	}
	source, target, err := p.languages()
	if err != nil {
		return err
	}
	n, err := h.alternatives(p)
	if err != nil {
		return err
	}
	if err := s.checkSize(ctx, texts, batch); err != nil {
		return err
	}
	if err := checkPair(source, target); err != nil {
		return err
	}
	format, err := p.str("format")
	if err != nil {
		return err
	}
	if format != "" && format != "text" && format != "html" {
		return errorf(http.StatusBadRequest, "%s format is not supported", format)
	}

	var detected *detection
	if source == "auto" {
		d := detectLanguage(plainText(texts, format == "html"))[0]
		detected = &d
	}
	out := texts
	var sents [][]sentenceInfo   // with "sentences": true
	var aligns [][]wordAlignment // with "alignments": true
	alts := make([][]string, len(texts))
	for i := range alts {
		alts[i] = []string{}
	}
	switch {
	case detected != nil && detected.Language != "de":
		// with source auto, text that is not German is returned as sent
	case format == "html":
		// Markup kept by translate.TranslateHTML, one document at a time
		// (not merged across requests); no alternatives, as LibreTranslate.
		if out, err = s.translateHTML(ctx, texts); err != nil {
			return err
		}
	default:
		ask := 0
		if n > 0 {
			ask = n + 1 // the best and n more, as LibreTranslate's hypotheses(q, n+1)
		}
		align := p.flag("alignments")
		res, err := s.batch.translate(ctx, texts, extras{alts: ask, align: align})
		if err != nil {
			return err
		}
		out = make([]string, len(res))
		if p.flag("sentences") {
			sents = make([][]sentenceInfo, len(res))
		}
		if align {
			aligns = make([][]wordAlignment, len(res))
		}
		for i, tr := range res {
			out[i] = tr.Text
			if sents != nil {
				sents[i] = sentenceInfos(tr)
			}
			if aligns != nil {
				aligns[i] = wordAlignments(tr)
			}
			seen := map[string]bool{tr.Text: true, "": true}
			for k := 1; k <= n; k++ {
				if a := tr.Alternative(k); !seen[a] {
					seen[a] = true
					alts[i] = append(alts[i], a)
				}
			}
		}
	}

	var resp translateResponse
	if batch {
		resp.TranslatedText = out
		if detected != nil {
			ds := make([]detection, len(texts))
			for i := range ds {
				ds[i] = *detected
			}
			resp.DetectedLanguage = ds
		}
		if n > 0 {
			resp.Alternatives = alts
		}
		if sents != nil {
			resp.Sentences = sents
		}
		if aligns != nil {
			resp.Alignments = aligns
		}
	} else {
		resp.TranslatedText = out[0]
		if detected != nil {
			resp.DetectedLanguage = *detected
		}
		if n > 0 {
			resp.Alternatives = alts[0]
		}
		if sents != nil {
			resp.Sentences = sents[0]
		}
		if aligns != nil {
			resp.Alignments = aligns[0]
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// plainText is the text of texts for language detection: with html, the
// documents' text without the markup.
func plainText(texts []string, html bool) string {
	if !html {
		return strings.Join(texts, "\n")
	}
	var b strings.Builder
	for _, t := range texts {
		for _, seg := range spans.ParseHTML(t).Segments {
			b.WriteString(seg.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// translateHTML translates HTML documents with their markup kept.
func (s *Server) translateHTML(ctx context.Context, docs []string) ([]string, error) {
	out := make([]string, len(docs))
	for i, d := range docs {
		var err error
		if out[i], err = s.eng.TranslateHTML(ctx, d); err != nil {
			return nil, err
		}
		s.metrics.chars.Add(float64(utf8.RuneCountInString(d)))
	}
	return out, nil
}

// alternatives reads the alternatives field: a whole number, at most the
// server's limit; negative counts as 0.
func (h translateHandler) alternatives(p *params) (int, error) {
	v, err := p.str("alternatives")
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64) // JSON 2.0, as Python's int()
		if ferr != nil || f != float64(int(f)) {
			return 0, errorf(http.StatusBadRequest, "Invalid request: alternatives parameter is not a number")
		}
		n = int(f)
	}
	n = max(n, 0)
	if n > h.s.cfg.alternativesMax {
		return 0, errorf(http.StatusBadRequest, "Invalid request: alternatives parameter must be <= %d", h.s.cfg.alternativesMax)
	}
	return n, nil
}

// checkSize applies the batch limit (texts per request) and the character
// limit (per text; the API key's own limit when it has one).
func (s *Server) checkSize(ctx context.Context, texts []string, batch bool) error {
	if batch && s.cfg.batchLimit > 0 && len(texts) > s.cfg.batchLimit {
		return errorf(http.StatusBadRequest, "Invalid request: request (%d) exceeds text limit (%d)", len(texts), s.cfg.batchLimit)
	}
	limit := cmp(keyLimitsOf(ctx).CharLimit, s.cfg.charLimit)
	if limit <= 0 {
		return nil
	}
	for _, t := range texts {
		if n := utf8.RuneCountInString(t); n > limit {
			return errorf(http.StatusBadRequest, "Invalid request: request (%d) exceeds text limit (%d)", n, limit)
		}
	}
	return nil
}

// detectHandler answers POST /detect.
type detectHandler struct{}

func (detectHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	texts, _, err := paramsOf(r.Context()).texts()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, detectLanguage(strings.Join(texts, "\n")))
	return nil
}

// fileHandler answers POST /translate_file: a multipart .txt or .html
// file in, the URL of its translation out.
type fileHandler struct{ s *Server }

func (h fileHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, p := h.s, paramsOf(ctx)
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		return errorf(http.StatusBadRequest, "Invalid request: missing file parameter")
	}
	source, target, err := p.languages()
	if err != nil {
		return err
	}
	fh := r.MultipartForm.File["file"][0]
	if fh.Filename == "" {
		return errorf(http.StatusBadRequest, "Invalid request: empty file")
	}
	ext := strings.ToLower(path.Ext(fh.Filename))
	if ext != ".txt" && ext != ".html" && ext != ".htm" {
		return errorf(http.StatusBadRequest, "Invalid request: file format not supported")
	}
	if err := checkPair(source, target); err != nil {
		return err
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("translate_file: opening the upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("translate_file: reading the upload: %w", err)
	}
	text := string(data)
	if !utf8.ValidString(text) || strings.ContainsRune(text, 0) {
		return errorf(http.StatusBadRequest, "Invalid request: %s is not UTF-8 text (save it as UTF-8 plain text)", fh.Filename)
	}
	html := ext != ".txt"
	if source == "auto" && detectLanguage(plainText([]string{text}, html))[0].Language != "de" {
		source = "en" // not German: stored as sent
	}
	out := text
	switch {
	case source == "en":
	case html:
		docs, err := s.translateHTML(ctx, []string{text})
		if err != nil {
			return err
		}
		out = docs[0]
	default:
		if out, err = s.translateLines(ctx, text); err != nil {
			return err
		}
	}
	name := s.files.put(fh.Filename, []byte(out))
	if name == "" {
		return errorf(http.StatusRequestEntityTooLarge, "Translated file too large for the server's file store (%d bytes)", s.cfg.filesMaxBytes)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	writeJSON(w, http.StatusOK, map[string]string{"translatedFileUrl": scheme + "://" + r.Host + "/download_file/" + name})
	return nil
}

// translateLines translates a file's text line by line through the
// batcher, a batch's worth of lines per job so that other requests are
// served in between; line ends and a byte-order mark are kept.
func (s *Server) translateLines(ctx context.Context, text string) (string, error) {
	bom := strings.HasPrefix(text, "\uFEFF")
	text = strings.TrimPrefix(text, "\uFEFF")
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	if bom {
		b.WriteString("\uFEFF")
	}
	for lo := 0; lo < len(lines); lo += s.cfg.maxBatch {
		out, err := s.batch.translate(ctx, lines[lo:min(lo+s.cfg.maxBatch, len(lines))], extras{})
		if err != nil {
			return "", err
		}
		for _, tr := range out {
			b.WriteString(tr.Text)
		}
	}
	return b.String(), nil
}

// storedName is the form of the names fileStore gives.
var storedName = regexp.MustCompile(`^[0-9a-f]{32}\.[A-Za-z0-9_-][A-Za-z0-9._-]*$`)

// downloadHandler answers GET /download_file/NAME.
type downloadHandler struct{ s *Server }

func (h downloadHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if !storedName.MatchString(name) {
		return errorf(http.StatusBadRequest, "Invalid filename")
	}
	data, download, ok := h.s.files.get(name)
	if !ok {
		return errorf(http.StatusNotFound, "File not found: %s (translated files are kept for %v; translate it again)", name, h.s.cfg.filesTTL)
	}
	ctype := "text/plain; charset=utf-8"
	if ext := strings.ToLower(path.Ext(download)); ext == ".html" || ext == ".htm" {
		ctype = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Security-Policy", "sandbox") // an uploaded document never runs as this site
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", download))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
	return nil
}

// language is one entry of GET /languages.
type language struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Targets []string `json:"targets"`
}

// languagesHandler answers GET /languages.
type languagesHandler struct{}

func (languagesHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, []language{
		{Code: "de", Name: languageNames["de"], Targets: []string{"en"}},
		{Code: "en", Name: languageNames["en"], Targets: []string{}},
	})
	return nil
}

// settingsHandler answers GET /frontend/settings with LibreTranslate's
// fields.
type settingsHandler struct{ s *Server }

func (h settingsHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	c := h.s.cfg
	type lang struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	writeJSON(w, http.StatusOK, struct {
		CharLimit            int      `json:"charLimit"`
		FrontendTimeout      int64    `json:"frontendTimeout"`
		APIKeys              bool     `json:"apiKeys"`
		KeyRequired          bool     `json:"keyRequired"`
		Suggestions          bool     `json:"suggestions"`
		FilesTranslation     bool     `json:"filesTranslation"`
		SupportedFilesFormat []string `json:"supportedFilesFormat"`
		Language             struct {
			Source lang `json:"source"`
			Target lang `json:"target"`
		} `json:"language"`
	}{
		CharLimit: c.charLimit, FrontendTimeout: c.frontendDebounce.Milliseconds(),
		APIKeys: c.keys != nil, KeyRequired: c.requireKey, FilesTranslation: true,
		SupportedFilesFormat: []string{".txt", ".html"},
		Language: struct {
			Source lang `json:"source"`
			Target lang `json:"target"`
		}{lang{"de", languageNames["de"]}, lang{"en", languageNames["en"]}},
	})
	return nil
}

// healthHandler answers GET /health.
type healthHandler struct{}

func (healthHandler) serveAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
