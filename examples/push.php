<?php
// Publish a signed WAMP event through Junction's HTTP publisher path
// (Crossbar's HTTP pusher contract). PHP 7.3+ with the curl extension.
//
//   php push.php   (publishes one event to the bundled config.json's signed path, started as
//                   the README says; JUNCTION_URL and JUNCTION_PUSH_SECRET override the URL's
//                   base and the secret)

/**
 * POSTs {"topic", "args", "kwargs"} to a signed publisher path and returns the
 * publication id. signature = base64url(HMAC-SHA256(secret,
 * key . timestamp . seq . nonce . body)), '=' padding kept.
 */
function junction_publish(string $url, string $key, string $secret, string $topic,
                          array $args = [], array $kwargs = [], int $seq = 1): int
{
    $event = ['topic' => $topic];
    if ($args) {
        $event['args'] = array_values($args);
    }
    if ($kwargs) {
        $event['kwargs'] = (object) $kwargs;    // always a JSON object
    }
    $body = json_encode($event, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    if ($body === false) {
        throw new InvalidArgumentException('event is not JSON serializable: ' . json_last_error_msg());
    }

    // UTC with milliseconds and Z, e.g. 2011-10-14T16:59:51.123Z
    $now = microtime(true);
    $timestamp = gmdate('Y-m-d\TH:i:s', (int) $now)
        . sprintf('.%03dZ', (int) (($now - floor($now)) * 1000));
    $nonce = random_int(0, 2 ** 53);
    $signature = strtr(
        base64_encode(hash_hmac('sha256', $key . $timestamp . $seq . $nonce . $body, $secret, true)),
        '+/', '-_');

    $query = http_build_query([
        'timestamp' => $timestamp,
        'seq' => $seq,
        'key' => $key,
        'nonce' => $nonce,
        'signature' => $signature,
    ]);
    $ch = curl_init($url . '?' . $query);
    curl_setopt_array($ch, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $body,            // sent exactly as signed
        CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_TIMEOUT => 5,
    ]);
    $response = curl_exec($ch);
    if ($response === false) {
        $error = curl_error($ch);
        curl_close($ch);
        throw new RuntimeException("request failed: $error");
    }
    $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    curl_close($ch);

    // 202 by default; 200 when the path sets "success_status": 200
    $answer = json_decode($response, true);
    if ($status < 200 || $status >= 300 || !isset($answer['id'])) {
        throw new RuntimeException("publish failed: HTTP $status $response");
    }
    return $answer['id'];
}

if (PHP_SAPI === 'cli' && isset($argv[0]) && realpath($argv[0]) === __FILE__) {
    $base = getenv('JUNCTION_URL') ?: 'http://127.0.0.1:8080';
    $secret = getenv('JUNCTION_PUSH_SECRET') ?: 'change-me';
    $id = junction_publish("$base/push-signed", 'example-key', $secret,
                           'com.myapp.topic1', ['Hello from PHP'], ['n' => 1]);
    echo "published $id\n";
}
