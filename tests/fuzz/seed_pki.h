/*
 * seed_pki.h: public certificates of the PKI that signed the fuzz corpus
 * seeds (made once with scripts/gen-pki.sh; the keys were thrown away).
 * The corpus CRLs in corpus/crl/ were issued by the intermediate of seed_clients_ca_pem, so the fuzz
 * targets reach the signature check and, for the seeds, success.
 */
#ifndef SPOA_SEED_PKI_H
#define SPOA_SEED_PKI_H

/* clients-ca.pem: the intermediate, then the root. */
static const char seed_clients_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIByjCCAXCgAwIBAgICAQAwCgYIKoZIzj0EAwIwNjEXMBUGA1UECgwOc3BvYS1p\n"
    "YW0gdGVzdHMxGzAZBgNVBAMMEnNwb2EtaWFtIHRlc3Qgcm9vdDAeFw0yNjExMjYx\n"
    "MzQ5NDFaFw0zNjExMjMxMzQ5NDFaMD4xFzAVBgNVBAoMDnNwb2EtaWFtIHRlc3Rz\n"
    "MSMwIQYDVQQDDBpzcG9hLWlhbSB0ZXN0IGludGVybWVkaWF0ZTBZMBMGByqGSM49\n"
    "AgEGCCqGSM49AwEHA0IABO14N73JcQ5xRyER6cjXuTaKVMkra6WZUZ7vnh5VDWXV\n"
    "7pHXvnt7bOKW6vw2DoQoLWtz4ojW0RCtl9T8FMk7b1ujZjBkMBIGA1UdEwEB/wQI\n"
    "MAYBAf8CAQAwDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBRwmqjy9LV/luRK90k4\n"
    "ibpHTHeCzjAfBgNVHSMEGDAWgBRNKqAB6lt/bc0SInNXAgSVUPN1mTAKBggqhkjO\n"
    "PQQDAgNIADBFAiEA1q8A9Hdhi5xL4qASdFMO2h+XywUnEC+Ty7to8/z5z/wCID+x\n"
    "I6IEeWZY8tN2EdZ3qSSHTtLVzPLt6Nz1TWc9mjiB\n"
    "-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBrzCCAVagAwIBAgIUaZkJ2R5Ve7HKImcZAU5S1tjE6r8wCgYIKoZIzj0EAwIw\n"
    "NjEXMBUGA1UECgwOc3BvYS1pYW0gdGVzdHMxGzAZBgNVBAMMEnNwb2EtaWFtIHRl\n"
    "c3Qgcm9vdDAeFw0yNjExMjYxMzQ5NDFaFw0zNjExMjMxMzQ5NDFaMDYxFzAVBgNV\n"
    "BAoMDnNwb2EtaWFtIHRlc3RzMRswGQYDVQQDDBJzcG9hLWlhbSB0ZXN0IHJvb3Qw\n"
    "WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQVKK9YbJM6S9C4Yjys/j+QaKbpZUp2\n"
    "YPi2DdcOkEfLU09kKD8eB2rgQlP5M8SmRYPSx+ItVEOpSgwG9yoMQYnCo0IwQDAP\n"
    "BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUTSqgAepb\n"
    "f23NEiJzVwIElVDzdZkwCgYIKoZIzj0EAwIDRwAwRAIgc6ksdQjBvaCxkgGP+Pgy\n"
    "bdA6yj0nGfeKSvr0XAt/MFACIGRRHlxtYr9r+W/23anwmNHWrTBaJJri/3hqcHyQ\n"
    "EDhQ\n"
    "-----END CERTIFICATE-----\n";

/* client-revoked.crt: serial listed in corpus/crl/crl.pem. */
static const char seed_revoked_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBwDCCAWagAwIBAgICEAMwCgYIKoZIzj0EAwIwPjEXMBUGA1UECgwOc3BvYS1p\n"
    "YW0gdGVzdHMxIzAhBgNVBAMMGnNwb2EtaWFtIHRlc3QgaW50ZXJtZWRpYXRlMB4X\n"
    "DTI2MTEyNjEzNDk0MVoXDTI5MDIyODEzNDk0MVowMjEXMBUGA1UECgwOc3BvYS1p\n"
    "YW0gdGVzdHMxFzAVBgNVBAMMDmNsaWVudC1yZXZva2VkMFkwEwYHKoZIzj0CAQYI\n"
    "KoZIzj0DAQcDQgAELm55VBtOJ/OBBJw53uDc/tNzvbIghKBmzc1NilDjl1x/dT7B\n"
    "YArraRlYIlmNdoMhEat1tvhwhDkxniW7dtdj/qNgMF4wDAYDVR0TAQH/BAIwADAO\n"
    "BgNVHQ8BAf8EBAMCB4AwHQYDVR0OBBYEFNDCLczCM8lw47zq8yoFyE0AuneNMB8G\n"
    "A1UdIwQYMBaAFHCaqPL0tX+W5Er3STiJukdMd4LOMAoGCCqGSM49BAMCA0gAMEUC\n"
    "IH2fiPvWbSO2TnY4dCDnmj0/WF4g+Ujon30jcNdQLeUHAiEAo/mfYHiXYuagju5l\n"
    "KpeB7qsmc44QZTndk3C4Io/xQFE=\n"
    "-----END CERTIFICATE-----\n";

/* client-valid.crt: not listed. */
static const char seed_valid_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICCDCCAa2gAwIBAgICEAEwCgYIKoZIzj0EAwIwPjEXMBUGA1UECgwOc3BvYS1p\n"
    "YW0gdGVzdHMxIzAhBgNVBAMMGnNwb2EtaWFtIHRlc3QgaW50ZXJtZWRpYXRlMB4X\n"
    "DTI2MTEyNjEzNDk0MVoXDTI5MDIyODEzNDk0MVowQTEXMBUGA1UECgwOc3BvYS1p\n"
    "YW0gdGVzdHMxDzANBgNVBAsMBm9yZGVyczEVMBMGA1UEAwwMY2xpZW50LXZhbGlk\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGotcPMOsof1nKiNy/UOvrl8ztz1+\n"
    "gT0n9ZdAgUtGh7DboL/ZcemXBN2B462AebV2DpWaY6V3WyJXFgH6cI2H1aOBlzCB\n"
    "lDAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDA0BgNVHREELTArghhjbGll\n"
    "bnQtdmFsaWQuZXhhbXBsZS5vcmeBD29wc0BleGFtcGxlLm9yZzAdBgNVHQ4EFgQU\n"
    "gk2wQVbfaxB5ktx2/3K32lgYXKcwHwYDVR0jBBgwFoAUcJqo8vS1f5bkSvdJOIm6\n"
    "R0x3gs4wCgYIKoZIzj0EAwIDSQAwRgIhAN6pvSX3HJHiZ9c0JrkLDiL4yAuEyLyU\n"
    "dRanTQ7m67hpAiEAkQ0WxCX14BBJmRQYGj0F0Fj+2tVREHIlNCDxEx/Pvx8=\n"
    "-----END CERTIFICATE-----\n";

#endif /* !SPOA_SEED_PKI_H */
