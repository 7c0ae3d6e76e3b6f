export default function Home() {
  return <main>fresh app</main>
}
