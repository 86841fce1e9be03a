use crate::support::*;

#[tokio::test]
async fn the_page_shows_buttons_and_rendered_pages_without_external_assets() {
    let s = start_default().await;
    let id = create(&s, "k").await;
    let html = http()
        .get(format!("{}/sign/{id}/1", s.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Please sign the agreement"));
    assert!(html.contains(&format!("action=\"/sign/{id}/1/sign\"")));
    assert!(html.contains(&format!("action=\"/sign/{id}/1/decline\"")));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    let img = format!("/sign/{id}/1/documents/1/pages/1");
    assert!(html.contains(&img));
    let png = http()
        .get(format!("{}{img}", s.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    let missing = http()
        .get(format!("{}/sign/{id}/1/documents/1/pages/2", s.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let index = http()
        .get(&s.base_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(index.contains(&format!("/sign/{id}/2")));
}

#[tokio::test]
async fn names_are_escaped_on_the_page() {
    let s = start_default().await;
    let mut d = definition("k");
    d["recipients"]["signers"][0]["name"] = serde_json::json!("<b>Jane</b>");
    d["emailSubject"] = serde_json::json!("A & B <i>");
    let (_, v) = post_envelope(&s, &d).await;
    let id = v["envelopeId"].as_str().unwrap();
    let html = http()
        .get(format!("{}/sign/{id}/1", s.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("&lt;b&gt;Jane&lt;/b&gt;"));
    assert!(html.contains("A &amp; B &lt;i&gt;"));
    assert!(!html.contains("<b>Jane"));
}
