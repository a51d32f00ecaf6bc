using System.Security.Cryptography.X509Certificates;

namespace Snn.Server.Security;

/// <summary>
/// The server's TLS certificate from <c>Snn:Tls:Certificate</c>: a PEM certificate with its PEM private key in
/// <c>Snn:Tls:Key</c> (encrypted when <c>Snn:Tls:Password</c> is set), or, without a key file, a PFX (PKCS#12)
/// holding both, opened with <c>Snn:Tls:Password</c>. With one configured, every endpoint serves TLS.
/// </summary>
internal static class TlsCertificate
{
    /// <summary>The certificate, or null when <c>Snn:Tls:Certificate</c> is empty; a file that does not load stops the start.</summary>
    public static X509Certificate2? Load(IConfiguration config)
    {
        string certificate = SnnConfiguration.Get(config, "Snn:Tls:Certificate", "");
        string key = SnnConfiguration.Get(config, "Snn:Tls:Key", "");
        string password = SnnConfiguration.Get(config, "Snn:Tls:Password", "");
        if (certificate.Length == 0)
        {
            if (key.Length > 0)
            {
                throw new InvalidOperationException("Snn:Tls:Key is set but Snn:Tls:Certificate is not; give the certificate's file too");
            }

            return null;
        }

        string certificatePath = Existing(certificate, "Snn:Tls:Certificate");
        try
        {
            X509Certificate2 loaded;
            if (key.Length > 0)
            {
                string keyPath = Existing(key, "Snn:Tls:Key");
                using var pem = password.Length > 0
                    ? X509Certificate2.CreateFromEncryptedPemFile(certificatePath, password, keyPath)
                    : X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

                // A PEM key is ephemeral; TLS wants one held the way a PFX's is (required on Windows, harmless elsewhere).
                loaded = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }
            else
            {
                loaded = X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password.Length > 0 ? password : null);
            }

            if (!loaded.HasPrivateKey)
            {
                loaded.Dispose();
                throw new InvalidOperationException($"Snn:Tls:Certificate ({certificatePath}) has no private key; give a PFX with its key, or the key in Snn:Tls:Key");
            }

            return loaded;
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException(
                $"Snn:Tls:Certificate ({certificatePath}) does not load: {e.Message}. Give a PEM certificate with Snn:Tls:Key, or a PFX with Snn:Tls:Password", e);
        }
    }

    private static string Existing(string file, string key)
    {
        string path = Path.GetFullPath(file, Environment.CurrentDirectory);
        return File.Exists(path) ? path : throw new InvalidOperationException($"{key} is '{file}'; no such file ({path})");
    }
}
