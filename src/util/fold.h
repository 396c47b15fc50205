/* Case-insensitive matching of Unicode text, for the crypt32 subset's
 * CertFindCertificateInStore (CERT_FIND_SUBJECT_STR: "a case-insensitive
 * substring-within-a-string match"). Letters are folded with the
 * C.UTF-8 locale's towlower (every script, not only ASCII), looked up once
 * and used through towlower_l, so the process's own locale never matters;
 * where that locale is missing, ASCII letters only. */
#ifndef WH_UTIL_FOLD_H
#define WH_UTIL_FOLD_H

/* 1 when the UTF-8 text |needle| occurs in |hay| ignoring case, 0 when it
 * does not (an empty needle always does), -1 when out of memory. */
int wh_utf8_contains_nocase(const char *hay, const char *needle);

#endif
