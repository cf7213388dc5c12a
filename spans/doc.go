// Package spans keeps what must not be translated exactly as written: it
// finds protected spans in German source text (numbers, dates, times, phone
// numbers, URLs, e-mail addresses, handles, hashtags, file paths, inline
// code, format placeholders, product codes, ISBNs; glossary terms and
// abbreviations the caller names), checks
// that a translation contains every one of them, and repairs a translation
// that lost some, given an alignment between source and target text. It also
// splits HTML into translatable segments and puts the tags back around the
// aligned English words.
//
// The package knows nothing of models or search: an alignment is plain data
// (source and target byte ranges of tokens and a weight matrix, as the
// decoder's cross-attention gives it), so the same code serves the default
// model and imported opus-mt models.
//
// # What reaches the output
//
// Every span is written exactly as found in the source, with one exception:
// numbers in German format are rendered in English format, always. The
// digits and their order never change; only the separators are swapped:
//
//	318,40     → 318.40     decimal comma
//	1.250      → 1,250      thousands dot (groups of exactly three digits)
//	1.150,00   → 1,150.00
//	9.30 Uhr   → 9:30       a time written with a dot (only before "Uhr")
//	am 3. Mai  → 3          an ordinal loses its dot (English writes "3rd" or "3")
//	2,5 %      → 2.5%       a unit sign is part of its number: per cent and per
//	25 °C      → 25 °C      mille glued to it, degrees spaced as written
//
// Dates (15.03.2025), versions (2.14.0, 3.2.1), scores (3:1), times
// (17:42), phone numbers, codes and everything else are copied unchanged.
//
// # Data flow
//
//	spans := Detect(src)                   // before translation
//	missing := Missing(tgt, spans)         // after translation
//	out, fixes := Repair(src, tgt, spans, alignment)
//
// Repair first rewrites a span the model copied in German format into its
// rendering, then replaces the target words aligned to each still-missing
// span by the span (or inserts it where the alignment points when nothing is
// aligned), and reports what it repaired.
package spans
